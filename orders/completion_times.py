"""Average completion time of a service, as PerfectPanel shows it ("average time for 1000").

Decided: the median of (finished - sent) over the service's last ``SAMPLE`` completed orders, each scaled to
1000 units (a package type: per package, unscaled). Only fully completed orders count (a partial or canceled
one says nothing of speed), and not drip-feeds (their interval, not the provider, sets the pace) nor
subscriptions (they last until expiry). The median, not the mean, so one stuck order does not double it.
Fewer than ``MINIMUM`` such orders: no figure ("not enough data"). Cached per service for ``CACHE_SECONDS``;
the misses of a page are computed in one query, whatever the number of services on it.
"""

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.core.cache import cache
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from orders.models import Order
from orders.progress import is_package
from panels.normalize import ServiceType

SAMPLE = 10
MINIMUM = 3
CACHE_SECONDS = 15 * 60
_KEY = "completion-time:v1:{}"


@dataclass(frozen=True)
class CompletionTime:
    """``duration`` for 1000 units, or for one package when ``per_package``; None: not enough data."""

    duration: timedelta | None
    per_package: bool = False
    orders: int = 0


def completion_times(service_ids) -> dict[int, CompletionTime]:
    """The average completion time of each service in ``service_ids``."""
    service_ids = set(service_ids)
    cached = cache.get_many([_KEY.format(pk) for pk in service_ids])
    found = {pk: cached[_KEY.format(pk)] for pk in service_ids if _KEY.format(pk) in cached}
    missing = service_ids - set(found)
    if missing:
        computed = _computed(missing)
        cache.set_many({_KEY.format(pk): time for pk, time in computed.items()}, CACHE_SECONDS)
        found |= computed
    return found


def _computed(service_ids: set[int]) -> dict[int, CompletionTime]:
    samples: dict[int, list[timedelta]] = {pk: [] for pk in service_ids}
    packaged: dict[int, bool] = {}
    rows = (
        Order.objects.filter(
            service_id__in=service_ids,
            status=Order.Status.COMPLETED,
            sent_at__isnull=False,
            finished_at__isnull=False,
            runs__isnull=True,
            units__gt=0,
        )
        .exclude(type=ServiceType.SUBSCRIPTIONS)
        .annotate(rank=Window(RowNumber(), partition_by=F("service_id"), order_by=F("finished_at").desc()))
        .filter(rank__lte=SAMPLE)
        .values_list("service_id", "type", "units", "sent_at", "finished_at")
    )
    for service_id, kind, units, sent_at, finished_at in rows:
        package = is_package(kind)
        took = max(finished_at - sent_at, timedelta(0))
        samples[service_id].append(took if package else took * 1000 / units)
        packaged[service_id] = package
    return {
        pk: CompletionTime(
            duration=median(times) if len(times) >= MINIMUM else None,
            per_package=packaged.get(pk, False),
            orders=len(times),
        )
        for pk, times in samples.items()
    }
