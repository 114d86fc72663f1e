"""Sending orders upstream: one dispatcher per provider, at that provider's pace, never waiting for it.

Unsent orders wait in the database (``next_attempt_at`` says when each is due), not as tasks in the broker.
A dispatcher run for a provider sends its due orders oldest first, as fast as the provider's budget
(``panels.ratelimit``) and its ``send_concurrency`` allow, and stops: it never sleeps for a slot. When the
budget is spent it asks to run again when a slot frees up, and gives its worker thread back meanwhile; a
slow provider holds at most ``send_concurrency`` threads of one worker, however long it takes to answer.
So one provider's backlog drains at its own limit while every other provider's orders go out at once.

Each send is ``order_submit``'s claim → add → settle: the claim commits immediately before the call (never
pay twice); the call runs on a pool thread that only talks HTTP; every write happens in the dispatcher's
own thread. Runs are started by a *kick* — an order placed or sent again, a run's "come back in N s", the
sweeper for anything a lost message or a crash missed. While a kick waits in the broker or a run goes, kicks
for that provider queue nothing (the run looks again as it ends), so a burst of a thousand orders is a
message or two, not a thousand in front of everyone else's.
"""

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from orders.models import Order
from orders.services import UNSENT, lease_kept, order_add, order_claim, order_settle_add
from panels.models import Provider
from panels.ratelimit import ProviderBudget
from panels.services import provider_calls_record

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60  # the per-provider lock, renewed while calls are in flight
SLICE_SECONDS = 20  # a run takes new orders this long, then lets other work have its worker thread
SOON_SECONDS = 60  # a run that leaves orders due within this long comes back for them; later, the sweeper
KICK_GRACE_SECONDS = 60  # a kick not started this long after it was due is taken for lost


class LimitedBy:
    RATE_LIMIT = "rate limit"  # the budget was spent with orders due
    SLOWNESS = (
        "slowness"  # the slice ended with orders due: its answers, at "orders sent at once", set the pace
    )


@dataclass
class DispatchRun:
    sent: int = 0
    again_in: float | None = None  # seconds until the next run; None: nothing due soon
    limited_by: str = ""
    lock_lost: bool = False


def is_due(now: datetime) -> Q:
    """An unsent order is due once its ``next_attempt_at`` came; empty counts as due."""
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _due(now: datetime) -> QuerySet:
    return Order.objects.filter(status__in=UNSENT).filter(is_due(now))


def due_orders(provider_id: int, *, now: datetime | None = None) -> QuerySet:
    """A provider's unsent orders that are due, oldest due first (the partial index ``order_unsent_due``)."""
    return _due(now or timezone.now()).filter(provider_id=provider_id).order_by("next_attempt_at", "pk")


def orders_dispatch(*, provider: Provider, lease=None) -> DispatchRun:
    """Send ``provider``'s due orders until none is due, its budget is spent or the run's slice is over.
    ``lease`` (the caller's per-provider lock) is renewed while calls are in flight; once it is lost no new
    order is claimed, and the calls already made are still settled."""
    run = DispatchRun()
    budget = ProviderBudget(provider.pk, provider.calls_per_minute)
    started = time.monotonic()
    queue: deque[int] = deque()
    in_flight: dict = {}
    with ThreadPoolExecutor(max_workers=provider.send_concurrency) as pool:
        while True:
            while not (run.lock_lost or run.again_in is not None):
                if len(in_flight) >= provider.send_concurrency:
                    break
                if time.monotonic() - started > SLICE_SECONDS:
                    run.again_in, run.limited_by = 0, LimitedBy.SLOWNESS
                    break
                if not queue:
                    next_due = due_orders(provider.pk).values_list("pk", flat=True)
                    queue.extend(next_due[: 4 * provider.send_concurrency])
                if not queue:
                    break
                if provider.enabled and (wait_for := budget.take(for_sending=True)):
                    run.again_in, run.limited_by = wait_for, LimitedBy.RATE_LIMIT
                    break
                order = order_claim(order_id=queue.popleft(), provider_id=provider.pk)  # or routed elsewhere
                if order is not None:
                    records: list = []
                    future = pool.submit(order_add, order, on_call=records.append, slot_taken=True)
                    in_flight[future] = (order.pk, records)
            if not in_flight:
                break
            done, _ = wait(in_flight, timeout=LEASE_SECONDS / 4, return_when=FIRST_COMPLETED)
            run.lock_lost = run.lock_lost or not lease_kept(lease)
            for future in done:
                order_id, records = in_flight.pop(future)
                provider_calls_record(provider=provider, records=records)
                order_settle_add(order_id=order_id, outcome=future.result())
                run.sent += 1
    return run


def next_run_in(provider_id: int, run: DispatchRun) -> float | None:
    """When the dispatcher of ``provider_id`` should run again after ``run``: as it asked, at once if orders
    became due meanwhile (placed after it last looked), when the next waiting one is due if that is soon,
    or None — the sweeper looks later."""
    if run.again_in is not None:
        return run.again_in
    now = timezone.now()
    due = Order.objects.filter(provider_id=provider_id, status__in=UNSENT).aggregate(
        next=Min("next_attempt_at")
    )["next"]
    if due is None:
        return 0 if due_orders(provider_id, now=now).exists() else None
    wait_for = (due - now).total_seconds()
    return max(0.0, wait_for) if wait_for <= SOON_SECONDS else None


def _state_key(provider_id: int) -> str:
    return f"dispatch-state:{provider_id}"


def dispatch_state_record(provider_id: int, run: DispatchRun) -> None:
    """What the last run of a provider's dispatcher met, for the operator's dashboard."""
    cache.set(
        _state_key(provider_id),
        {"at": timezone.now(), "sent": run.sent, "limited_by": run.limited_by},
        timeout=60 * 60,
    )


def dispatch_states(provider_ids) -> dict[int, dict]:
    """What the last run of each provider's dispatcher met (``{"at", "sent", "limited_by"}``), in one cache
    round trip; providers whose dispatcher has not run for an hour are left out."""
    found = cache.get_many([_state_key(provider_id) for provider_id in provider_ids])
    return {
        provider_id: found[key] for provider_id in provider_ids if (key := _state_key(provider_id)) in found
    }


# --- kicks --------------------------------------------------------------------------------------------


def _pending_key(provider_id: int) -> str:
    return f"dispatch-kick:{provider_id}"


def dispatch_kick(provider_id: int, *, countdown: float = 0, force: bool = False) -> bool:
    """Start a run of the dispatcher of ``provider_id`` (after ``countdown`` seconds) unless one is already
    waiting in the broker; ``force`` sends one anyway (the sweeper: the waiting one may be lost). Returns
    whether a task was queued."""
    from orders.tasks import dispatch_orders  # the task module imports this one

    timeout = int(countdown) + KICK_GRACE_SECONDS
    if not cache.add(_pending_key(provider_id), True, timeout=timeout):
        if not force:
            return False
        cache.set(_pending_key(provider_id), True, timeout=timeout)
    try:
        dispatch_orders.apply_async((provider_id,), countdown=countdown)
    except Exception:
        cache.delete(_pending_key(provider_id))
        raise
    return True


def dispatch_run_started(provider_id: int) -> None:
    """A run holds the provider: kicks meanwhile queue nothing, the run answers them (``next_run_in``)."""
    cache.set(_pending_key(provider_id), True, timeout=2 * LEASE_SECONDS)


def dispatch_run_ended(provider_id: int) -> None:
    """The run let the provider go: a kick from now on queues a message, since the run may already have
    looked for the orders it is about."""
    cache.delete(_pending_key(provider_id))


def dispatch_after_commit(provider_id: int) -> None:
    """Kick the provider's dispatcher once the transaction that queued an order commits. A broker outage
    must not fail the customer's request after the money moved: the order is in the database, due, and the
    sweeper kicks its dispatcher."""

    def kick() -> None:
        try:
            dispatch_kick(provider_id)
        except Exception:
            logger.exception("Could not kick the dispatcher of provider %s; the sweeper will", provider_id)

    transaction.on_commit(kick)


def dispatch_due(*, now: datetime | None = None) -> int:
    """Kick the dispatcher of every provider with due orders (waiting ones whose retry came); force the
    kick where the oldest was due a grace ago, since the kick waiting for it may be lost with a broker or a
    worker. Returns how many were queued."""
    now = now or timezone.now()
    oldest_due = _due(now).order_by().values("provider_id").annotate(due=Min("next_attempt_at"))
    late = now - timedelta(seconds=KICK_GRACE_SECONDS)
    kicked = 0
    for row in oldest_due:
        kicked += dispatch_kick(row["provider_id"], force=row["due"] is None or row["due"] <= late)
    return kicked
