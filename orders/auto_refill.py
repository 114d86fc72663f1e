"""Auto-refill: completed orders of a service with auto-refill (``Service.auto_refill``) are looked at again
on a schedule within the refill window, and a refill is asked for through ``refill_request`` — the customer's
rule, one open refill per order, the unknown outcome included.

Each followed order carries when it is due (``Order.auto_refill_check_at``, stamped at completion and when an
operator turns auto-refill on). A run takes a provider's due orders, reads the status of those whose service
refills on a drop (100 ids a call, within the provider's budget), and decides per order in one transaction
that locks it, asks for the refill and stamps the next look: a run that dies half-way leaves each order either
untouched (still due) or refilled *and* stamped, never refilled and due again.

A drop is what API v2 can show of one: a completed order whose status answer reports ``remains`` again (the
provider recounts what is missing). Many providers answer nothing new after Completed; "every N days" is the
mode for them. Whatever the mode, an order gets at most one auto-refill every ``auto_refill_days``: one the
provider refuses is not asked again before that.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalogue.models import Service
from orders.models import Order, Refill
from orders.refills import refill_request
from orders.services import STATUS_BATCH, lease_kept, order_event
from panels.client import ProviderError, RateLimited, RemoteOrderStatus
from panels.models import Provider
from panels.services import provider_client
from reseller.bulk import instances_update


def drop_check_interval() -> timedelta:
    return timedelta(hours=settings.AUTO_REFILL_DROP_CHECK_HOURS)


def auto_refill_next_check(
    *, service: Service, finished_at: datetime, now: datetime, last_auto: datetime | None
) -> datetime | None:
    """When an order of ``service`` finished at ``finished_at``, last auto-refilled at ``last_auto``, is to be
    looked at next after ``now``; None when never again (auto-refill off, or past the refill window)."""
    if not (service.auto_refill and service.refill):
        return None
    gap = timedelta(days=service.auto_refill_days)
    candidates = []
    if service.auto_refill_on_drop:
        check = now + drop_check_interval()
        # A drop seen before the gap since the last auto-refill has passed would not be refilled anyway.
        candidates.append(max(check, last_auto + gap) if last_auto else check)
    if service.auto_refill_every:
        due = (last_auto or finished_at) + gap
        candidates.append(due if due > now else now + gap)
    upcoming = min(candidates)
    return upcoming if upcoming <= finished_at + timedelta(days=service.refill_days) else None


def auto_refill_first_check(*, service: Service, finished_at: datetime) -> datetime | None:
    """The first look at an order of ``service`` that completed at ``finished_at``."""
    return auto_refill_next_check(service=service, finished_at=finished_at, now=finished_at, last_auto=None)


def auto_refill_enrol(*, service: Service, now=None) -> int:
    """Follow the completed orders of ``service`` still within its refill window, once auto-refill is turned
    on (or its mode changed); stop following them when it is turned off. Orders completing later are stamped
    at completion (``Order.on_transition``). Returns how many orders are followed now."""
    now = now or timezone.now()
    orders = Order.objects.filter(service=service, status=Order.Status.COMPLETED)
    if not (service.auto_refill and service.refill):
        orders.exclude(auto_refill_check_at=None).update(auto_refill_check_at=None)
        return 0
    in_window = orders.filter(finished_at__gte=now - timedelta(days=service.refill_days))
    followed = []
    for order in in_window.only("pk", "finished_at", "auto_refilled_at"):
        # Always after now: turning auto-refill on asks for nothing at once.
        order.auto_refill_check_at = auto_refill_next_check(
            service=service, finished_at=order.finished_at, now=now, last_auto=order.auto_refilled_at
        )
        followed.append(order)
    instances_update(followed, ["auto_refill_check_at"])
    return sum(1 for order in followed if order.auto_refill_check_at)


@dataclass
class AutoRefillRun:
    due: int = 0
    looked_at: int = 0
    requested: int = 0
    status_calls: int = 0
    failed_batches: int = 0
    deferred: int = 0  # batches left due: the provider's budget had no call free (failed ones stay due too)
    lock_lost: bool = False

    def summary(self) -> str:
        return (
            f"{self.looked_at} of {self.due} due orders looked at, {self.requested} refills requested, "
            f"{self.status_calls} status calls, {self.failed_batches} failed, {self.deferred} batches left "
            "for the next run" + ("; stopped: the lock was lost" if self.lock_lost else "")
        )


def auto_refill_due(*, now=None):
    """The followed orders due now, of enabled providers (the index ``order_auto_refill_due``)."""
    return Order.objects.filter(auto_refill_check_at__lte=now or timezone.now(), provider__enabled=True)


def auto_refill_run(*, provider: Provider, now=None, lease=None) -> AutoRefillRun:
    """Look at ``provider``'s due orders, oldest due first, ``AUTO_REFILL_ORDERS_PER_RUN`` at most: read the
    status of those watched for a drop, 100 ids a call, then decide each (``_auto_refill_decide``). An order
    whose status could not be read stays due for the next run. ``lease`` (the caller's lock) is renewed
    between batches; if it is lost, the run stops."""
    now = now or timezone.now()
    result = AutoRefillRun()
    due = list(
        Order.objects.filter(provider=provider, auto_refill_check_at__lte=now)
        .order_by("auto_refill_check_at", "pk")
        .values_list("pk", "provider_order_id", "service__auto_refill")[: settings.AUTO_REFILL_ORDERS_PER_RUN]
    )
    result.due = len(due)
    watched = [(pk, remote_id) for pk, remote_id, mode in due if mode in _ON_DROP and remote_id]
    reported: dict[int, RemoteOrderStatus | None] = {}
    unread: set[int] = set()
    client = provider_client(provider)
    for start in range(0, len(watched), STATUS_BATCH):
        batch = dict(watched[start : start + STATUS_BATCH])
        if not lease_kept(lease):
            result.lock_lost = True
            return result
        if result.deferred:  # the budget is spent: the later batches wait too, without asking
            result.deferred += 1
            unread.update(batch)
            continue
        try:
            answers = client.statuses(batch.values())
        except RateLimited:
            result.deferred += 1
            unread.update(batch)
            continue
        except ProviderError:
            result.status_calls += 1
            result.failed_batches += 1
            unread.update(batch)
            continue
        result.status_calls += 1
        for pk, remote_id in batch.items():
            answer = answers.get(remote_id)
            reported[pk] = answer if isinstance(answer, RemoteOrderStatus) else None
    for pk, _remote_id, _mode in due:
        if pk in unread:
            continue
        if result.looked_at % STATUS_BATCH == 0 and not lease_kept(lease):
            result.lock_lost = True
            break
        result.looked_at += 1
        if _auto_refill_decide(order_id=pk, reported=reported.get(pk), now=now):
            result.requested += 1
    return result


_ON_DROP = {Service.AutoRefill.DROP, Service.AutoRefill.DROP_OR_EVERY}


def _dropped(order: Order, reported: RemoteOrderStatus | None) -> int:
    """How many units the provider now reports missing from a completed order (clamped to what was bought)."""
    if reported is None or reported.remains is None:
        return 0
    return max(0, min(reported.remains, order.units))


def _auto_refill_decide(*, order_id: int, reported: RemoteOrderStatus | None, now) -> bool:
    """Decide about one due order, locked: ask for a refill if one is due (a drop reported, or N days
    passed) and the one-open-refill rule allows it, and stamp the next look in the same transaction. True
    when a refill was requested."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("service", "provider_service")
            .filter(pk=order_id, auto_refill_check_at__lte=now)
            .first()
        )
        if order is None:  # another run looked at it meanwhile
            return False
        service = order.service
        reason = _why_refill(order, service, reported=reported, now=now)
        refill = None
        if reason:
            refill, refusal = _request(order, reason)
            if refill is None:
                order_event(order=order, message=f"Auto-refill not requested ({reason}): {refusal}")
            else:
                order.auto_refilled_at = now
        upcoming = None
        if order.status == Order.Status.COMPLETED and order.finished_at:
            upcoming = auto_refill_next_check(
                service=service, finished_at=order.finished_at, now=now, last_auto=order.auto_refilled_at
            )
        Order.objects.filter(pk=order.pk).update(
            auto_refill_check_at=upcoming, auto_refilled_at=order.auto_refilled_at
        )
    return refill is not None


def _request(order: Order, reason: str) -> tuple[Refill | None, str]:
    """Ask for the refill as the customer would (``refill_request``): the refill, or why not."""
    if not order.provider_service.refill:
        return None, "the provider service no longer offers refill."
    try:
        return refill_request(order=order, auto_reason=reason), ""
    except ValidationError as refusal:  # one open refill per order, the window, …: the customer's rules
        return None, refusal.messages[0]


def _why_refill(order: Order, service: Service, *, reported: RemoteOrderStatus | None, now) -> str:
    """Why auto-refill asks for a refill of ``order`` now, or "" when it does not."""
    if not (service.auto_refill and service.refill) or order.status != Order.Status.COMPLETED:
        return ""
    if order.finished_at is None or now > order.finished_at + timedelta(days=service.refill_days):
        return ""
    last_auto, gap = order.auto_refilled_at, timedelta(days=service.auto_refill_days)
    if last_auto and now < last_auto + gap:
        return ""
    if service.auto_refill_on_drop and (dropped := _dropped(order, reported)):
        return f"the provider reports {dropped} of {order.units} missing since completion"
    if service.auto_refill_every and now >= (last_auto or order.finished_at) + gap:
        return f"every {service.auto_refill_days} days"
    return ""
