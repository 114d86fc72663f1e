"""Writes of what the operator tells customers: dismissing an announcement, and the service updates the
catalogue's sync, publishing, repricing and the operator's sale switches record."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from catalogue.models import Service
from content.models import AnnouncementDismissal, ServiceUpdate
from content.selectors import announcements_live


def announcement_dismiss(*, user, announcement_id: int) -> bool:
    """``user`` no longer sees the announcement; False when it is not one within its window now (expired,
    not started, no such id): nothing is written. Dismissing twice is dismissing once."""
    if not announcements_live().filter(pk=announcement_id).exists():
        return False
    # get_or_create: two tabs dismissing it at once meet the unique constraint, and the loser finds the row.
    AnnouncementDismissal.objects.get_or_create(announcement_id=announcement_id, user=user)
    return True


@dataclass(frozen=True)
class Seen:
    """What customers see of a storefront service: its price and whether it is on sale."""

    price: Decimal
    on_sale: bool


def service_seen(service: Service) -> Seen:
    return Seen(price=service.price, on_sale=service.status in Service.states.group("on_sale"))


def service_updates_record(*, before: Mapping[int, Seen], after: Iterable[Service]) -> list[ServiceUpdate]:
    """The one writer of the service updates page. ``before``: what customers saw of services (by id)
    before a change; ``after``: the services as they are now (saved). A service absent from ``before`` is
    new: recorded when it is on sale. One insert, in the caller's transaction, whatever the number."""
    now = timezone.now()
    updates = []
    for service in after:
        was, now_seen = before.get(service.pk), service_seen(service)
        if was is None:
            if now_seen.on_sale:
                updates.append(
                    ServiceUpdate(service=service, kind=ServiceUpdate.Kind.NEW, new_price=service.price)
                )
            continue
        if was.on_sale != now_seen.on_sale:
            kind = ServiceUpdate.Kind.ON_SALE if now_seen.on_sale else ServiceUpdate.Kind.OFF_SALE
            updates.append(ServiceUpdate(service=service, kind=kind, new_price=service.price))
        if was.price != now_seen.price:
            kind = (
                ServiceUpdate.Kind.PRICE_UP if now_seen.price > was.price else ServiceUpdate.Kind.PRICE_DOWN
            )
            updates.append(
                ServiceUpdate(service=service, kind=kind, old_price=was.price, new_price=now_seen.price)
            )
    for update in updates:
        update.created_at = now
    return ServiceUpdate.objects.bulk_create(updates, batch_size=1000)
