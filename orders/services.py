"""Orders: placing them, sending them upstream, following them, and settling the money.

One rule per thing, called by the website, both APIs, the admin and the workers alike.

Sending never pays twice. ``order_submit`` first commits ``sending`` (the claim), then calls ``add``,
then classifies: nothing sent → back to the queue; "try later" → waiting with the reason; a permanent
refusal → failed and refunded; anything else (timeout, garbage, a crash) → **needs review**, never sent
again and never refunded without an operator. A worker that dies after the claim leaves the order in
``sending``, which the sweeper turns into *needs review* too.
"""

import logging
import math
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.services import audit_changes, audit_record
from billing.models import LedgerEntry
from billing.money import to_money
from billing.services import BalanceChange, account_for, balance_change, balance_changes, balance_charge_new
from catalogue.models import Service
from catalogue.orderable import service_orderable
from catalogue.pricing import customer_price
from console.roles import moves_money
from notifications.operators import provider_out_of_funds_alert
from orders.models import Order, OrderEvent
from orders.order_types import order_spec
from orders.routing import (
    LATER,
    REFUSED,
    nothing_placed_outcome,
    refused_here,
    route_first,
    route_of,
    route_refusal,
    routes_for,
    routes_left,
)
from panels.client import (
    ItemError,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
    RemoteOrderStatus,
)
from panels.health import Breaker, breaker_state, breaker_trial_take, provider_is_down
from panels.models import Provider
from panels.normalize import OrderStatus
from panels.services import provider_calls_record, provider_client
from reseller.bulk import rows_update
from reseller.states import Move, TransitionRefused, public_status_announce, transition, transitions_apply

logger = logging.getLogger(__name__)

S = Order.Status
OPEN_UPSTREAM = Order.states.group("upstream_open")
UNSENT = Order.states.group("unsent")
STATUS_BATCH = 100  # ids per multi-status call, as the API allows

# What the provider's canonical status means for our order.
_FROM_PROVIDER = {
    OrderStatus.PENDING: S.PENDING,
    OrderStatus.IN_PROGRESS: S.IN_PROGRESS,
    OrderStatus.PROCESSING: S.PROCESSING,
    OrderStatus.ACTIVE: S.IN_PROGRESS,
    OrderStatus.PAUSED: S.IN_PROGRESS,
    OrderStatus.COMPLETED: S.COMPLETED,
    OrderStatus.EXPIRED: S.COMPLETED,
    OrderStatus.PARTIAL: S.PARTIAL,
    OrderStatus.CANCELED: S.CANCELED,
    OrderStatus.REFUNDED: S.CANCELED,
    OrderStatus.FAILED: S.CANCELED,
}

RETRY_UNAVAILABLE = (30, 60, 120, 300, 600)  # seconds, by attempt
RETRY_LATER = 300
STUCK_SENDING = timedelta(minutes=10)


class OrderRefused(TransitionRefused):
    """An operation the order's state does not allow."""


# --- history ------------------------------------------------------------------------------------------


def order_event(*, order: Order, message: str, public: str = "", actor=None) -> None:
    """One line of the order's history that is not a move (those are ``transition``'s). ``message`` is the
    operator's; ``public`` what the customer sees (never a provider's name, id or wording)."""
    OrderEvent.objects.create(order=order, message=message, public_message=public, actor=actor)


def enqueue_after_commit(task, *args, lost=None) -> None:
    """Queue ``task`` once the transaction commits. A broker outage must not fail the customer's request
    after the money moved: the error is logged, ``lost()`` (if given) records that no task is queued, and the
    sweeper queues the work again."""

    def enqueue() -> None:
        try:
            task.delay(*args)
        except Exception:
            logger.exception("Could not queue %s%s; the sweeper will retry", task.name, args)
            if lost:
                lost()

    transaction.on_commit(enqueue)


def _locked(order_id: int) -> Order:
    # Its service comes along for routing, unlocked: storefront edits never wait for a send.
    return (
        Order.objects.select_for_update(of=("self", "provider", "provider_service"))
        .select_related("provider", "provider_service", "service")
        .get(pk=order_id)
    )


# --- placing ------------------------------------------------------------------------------------------


def order_place(*, user, service: Service, data: dict, actor=None) -> Order:
    """Validate, charge and record an order; its submission is queued once the transaction commits.

    Raises ``ValidationError`` (per field) or ``billing.services.InsufficientFunds``; then nothing is written.
    """
    if refusal := service_orderable(service).refusal:
        raise ValidationError({"service": refusal})
    price = customer_price(user=user, service=service)
    spec = order_spec(service=service, data=data, price=price)
    order = Order(
        user=user,
        service=service,
        type=service.type,
        link=spec.link,
        fields=spec.fields,
        units=spec.units,
        runs=spec.runs,
        price=price,
        charge=spec.charge,
    )
    # Queued at the first route that can take it now (else the first: its claim makes it wait).
    route = route_first(order) or routes_for(order)[0]
    order.provider_service, order.provider = route.provider_service, route.provider_service.provider
    with transaction.atomic():
        # The charge comes last: it locks the account (funds checked under the lock), and every order of this
        # customer waits for that lock until the commit, so it is held for as few statements as possible. A
        # refusal rolls the order and its event back: nothing is written. The charge's key is the new
        # order's: no earlier entry can hold it (``balance_charge_new``).
        order.next_attempt_at = timezone.now()
        order.save(force_insert=True)
        order_event(
            order=order,
            message=f"Placed: {spec.units} units, charged {spec.charge}.",
            public=f"Placed: charged {spec.charge}.",
        )
        balance_charge_new(
            user=user,
            amount=spec.charge,
            kind=LedgerEntry.Kind.CHARGE,
            idempotency_key=f"charge:order:{order.pk}",
            reference=f"order {order.pk}",
            actor=actor,
        )
        from orders.dispatch import dispatch_after_commit  # the dispatcher imports this module

        dispatch_after_commit(order.provider_id)
    return order


def order_quote(*, user, service: Service, data: dict) -> Decimal:
    """What ``data`` would cost ``user``, checked exactly as ``order_place`` checks it; nothing is written.
    Raises ``ValidationError`` per field."""
    return order_spec(service=service, data=data, price=customer_price(user=user, service=service)).charge


# --- sending ------------------------------------------------------------------------------------------


def order_submit(*, order_id: int) -> int | None:
    """Send one unsent order upstream now, in this thread: claim, add, settle — what a dispatcher does for
    each order (``orders.dispatch``). Returns seconds until it is due again, or None (also when it was not
    to be sent: see ``order_claim``)."""
    order = order_claim(order_id=order_id)
    return None if order is None else order_settle_add(order_id=order_id, outcome=order_add(order))


def order_claim(*, order_id: int, provider_id: int | None = None) -> Order | None:
    """Commit ``sending`` for an unsent order, immediately before its ``add``: from then on it may exist
    upstream, and nothing sends it again. None when it is not to be sent: already claimed, sent or resolved
    (a duplicate is harmless), queued at another provider than ``provider_id`` (the dispatcher asking: that
    provider's sends it), or its route cannot take it now — then it goes to the first route that can
    (``orders.routing``), or waits when none can."""
    with transaction.atomic():
        order = _locked(order_id)
        if order.status not in UNSENT or provider_id not in (None, order.provider_id):
            return None
        if not _routed(order):
            return None
        transition(
            order,
            S.SENDING,
            message=f"Sending to {order.provider} (attempt {order.send_attempts + 1}).",
            changes={
                "send_attempts": order.send_attempts + 1,
                "sending_since": timezone.now(),
                "next_attempt_at": None,
            },
        )
    return order


def _routed(order: Order) -> bool:
    """Whether ``order`` (locked, unsent) is to be sent to its provider now. Otherwise it went to the first
    route that can take it (another provider's queue, whose dispatcher is kicked) or waits: none can."""
    now, routes = timezone.now(), routes_for(order)
    current = route_of(order, routes=routes)
    if current is None:
        why = "This route is no longer one of the service's."
    elif refused_here(order):
        why = f"{order.provider} refused this order."
    else:
        why = route_refusal(current, order, now=now)
    best = route_first(order, now=now, routes=routes)
    if why is None and best is not None and best.provider_service_id != order.provider_service_id:
        why = f"{best.provider_service} comes first now."  # back to a better route, or a cheaper one
    on_trial = why is None and breaker_state(order.provider, now=now) == Breaker.TRIAL
    if on_trial and not breaker_trial_take(order.provider, now=now):
        why = f"{order.provider} is on trial after its cool-off: another order is the trial."
        best = route_first(order, now=now, skip={order.provider_service_id}, routes=routes)
    if why is None:
        return True
    if best is not None and best.provider_service_id != order.provider_service_id:
        was = order.provider_id
        _route_move(order, best, message=f"Not sent to {order.provider_service}: {why}")
        return order.provider_id == was  # the same provider's dispatcher may send it at once
    if best is None and REFUSED in order.route_outcomes.values() and not routes_left(order):
        # Refused for good by a route, and none left that might take it (the others disabled meanwhile).
        order_refund(order=order, amount=order.charge, reason=f"Refused by every route: {why}")
        transition(order, S.FAILED, message=f"{why} No route left that could take it. Refunded.")
        return False
    if best is None and order.route_outcomes and routes_left(order):
        _round_over(order)  # every route was tried: the next retry starts from the first again
    if provider_is_down(order.provider, now=now):
        until = order.provider.down_until  # None by hand: the usual wait
    elif on_trial:
        until = now + timedelta(seconds=settings.BREAKER_TRIAL_SECONDS)
    else:
        until = None
    _wait(order, why, until=until)
    return False


def _route_move(order: Order, route, *, message: str) -> None:
    """Send ``order`` (locked; unsent, or claimed and provably not placed) to ``route``: it joins that
    provider's queue, due now, and that provider's dispatcher is kicked once this commits. The operator's
    history names both; the customer's says nothing (the order is still pending for them)."""
    from orders.dispatch import dispatch_after_commit  # the dispatcher imports this module

    changes = {
        "provider": route.provider_service.provider,
        "provider_service": route.provider_service,
        "next_attempt_at": timezone.now(),
        "wait_reason": "",
        "route_outcomes": order.route_outcomes,
    }
    message = f"{message} Routed to {route.provider_service}."
    if order.status == S.QUEUED:  # no move of status: the fields and a line of history
        Order.objects.filter(pk=order.pk).update(**changes)
        for name, value in changes.items():
            setattr(order, name, value)
        order_event(order=order, message=message)
    else:
        transition(order, S.QUEUED, message=message, changes=changes)
    dispatch_after_commit(order.provider_id)


def _round_over(order: Order) -> None:
    """Every route was tried: the ones that said "later" are tried again (those that refused, never)."""
    order.route_outcomes = {key: said for key, said in order.route_outcomes.items() if said == REFUSED}
    Order.objects.filter(pk=order.pk).update(route_outcomes=order.route_outcomes)


def _failover(order_id: int, outcome: Exception) -> bool:
    """After an ``add`` that provably placed nothing: the claimed order goes to the next route that can
    take it, the route's outcome remembered. False when none can (the caller settles it as with one
    route) or when the outcome does not allow it."""
    said = nothing_placed_outcome(outcome, active_link_fails_over=settings.ROUTE_FAILOVER_ON_ACTIVE_LINK)
    if said is None:
        return False
    with transaction.atomic():
        order = _locked(order_id)
        if order.status != S.SENDING:
            return True  # settled meanwhile (an operator): nothing more to do here
        order.route_outcomes = {**order.route_outcomes, str(order.provider_service_id): said}
        best = route_first(order)
        if best is None:
            Order.objects.filter(pk=order.pk).update(route_outcomes=order.route_outcomes)
            return False
        if isinstance(outcome, ProviderRejected) and "funds" in outcome.message.lower():
            _alert_provider_funds(order.provider, outcome.message)
        _route_move(order, best, message=f"Not placed at {order.provider_service}: {outcome}")
    return True


def order_add(order: Order, *, on_call=None, slot_taken: bool = False) -> str | Exception:
    """The ``add`` call of a claimed order: the provider's order id, or what went wrong. No database
    (``on_call`` collects the call log), so a dispatcher runs it on a thread that only talks HTTP."""
    try:
        client = provider_client(order.provider, on_call=on_call, slot_taken=slot_taken)
        return client.add(order.provider_service.remote_id, **order.fields)
    except Exception as error:  # an unknown outcome, or our own crash after the claim: settled, never guessed
        return error


def order_settle_add(*, order_id: int, outcome: str | Exception) -> int | None:
    """Classify a claimed order's ``add`` outcome: accepted; nothing sent (back to the queue); "try later"
    (waiting with the reason); refused (failed and refunded); anything else needs review, never sent again.
    Returns seconds until it is due again, or None."""
    if isinstance(outcome, ProviderUnavailable | ProviderRejected) and _failover(order_id, outcome):
        return None  # at the next route, due now: its dispatcher was kicked
    if isinstance(outcome, ProviderUnavailable):
        return _release(order_id, outcome)
    if isinstance(outcome, ProviderRejected):
        return _rejected(order_id, outcome)
    if isinstance(outcome, Exception):
        _needs_review(
            order_id, f"No valid answer to the add ({outcome}); the order may exist at the provider."
        )
        return None
    with transaction.atomic():
        order = _locked(order_id)
        transition(
            order,
            S.PENDING,
            message=f"Accepted by {order.provider} as #{outcome}.",
            changes={"provider_order_id": outcome, "sent_at": timezone.now(), "wait_reason": ""},
        )
    return None


def _release(order_id: int, error: ProviderUnavailable) -> int:
    """Nothing reached the provider: back to the queue, due again after a backoff (or, when our own budget
    was spent, when a call is free again)."""
    with transaction.atomic():
        order = _locked(order_id)
        _round_over(order)
        delay = retry_in(error, RETRY_UNAVAILABLE[min(order.send_attempts, len(RETRY_UNAVAILABLE)) - 1])
        transition(
            order,
            S.WAITING,
            message=f"Not sent: {error} Retrying in {delay} s.",
            changes={
                "wait_reason": str(error)[:255],
                "next_attempt_at": timezone.now() + timedelta(seconds=delay),
            },
        )
    return delay


def retry_in(error: ProviderUnavailable, backoff: int) -> int:
    """Seconds until a call that sent nothing is made again: when a call is free again, if our budget or the
    provider (HTTP 429's Retry-After, within reason) said so; else ``backoff``."""
    if error.retry_after is None:
        return backoff
    return min(max(1, math.ceil(error.retry_after)), RETRY_UNAVAILABLE[-1])


def _rejected(order_id: int, error: ProviderRejected) -> int | None:
    with transaction.atomic():
        order = _locked(order_id)
        if not error.retry_later and routes_left(order):
            # Refused here for good, but another route may take it once it can: it waits for that one.
            _round_over(order)
            _wait(order, f"Refused by {order.provider}: {error.message} Waiting for another route.")
            return RETRY_LATER
        if error.retry_later:
            _round_over(order)
            _wait(order, f"{error} Retrying in {RETRY_LATER // 60} min.")
            if "funds" in error.message.lower():
                _alert_provider_funds(order.provider, error.message)
            return RETRY_LATER
        order_refund(order=order, amount=order.charge, reason=f"Refused by the provider: {error.message}")
        transition(order, S.FAILED, message=f"Refused by the provider: {error.message} Refunded.")
    return None


def _wait(order: Order, reason: str, *, until=None) -> None:
    """``order`` waits (``until`` then, else ``RETRY_LATER``) with ``reason``."""
    changes = {
        "wait_reason": reason[:255],
        "next_attempt_at": until or timezone.now() + timedelta(seconds=RETRY_LATER),
    }
    if order.status == S.WAITING:  # a retry that must wait again (its provider is still disabled): no move
        Order.objects.filter(pk=order.pk).update(**changes)
        if order.wait_reason != changes["wait_reason"]:
            order_event(order=order, message=reason)
        return
    transition(order, S.WAITING, message=reason, changes=changes)


def _needs_review(order_id: int, message: str) -> None:
    with transaction.atomic():
        order = _locked(order_id)
        transition(order, S.NEEDS_REVIEW, message=message, changes={"wait_reason": message[:255]})
    logger.warning("Order %s needs review: %s", order_id, message)


def _alert_provider_funds(provider: Provider, message: str) -> None:
    logger.error("Provider %s is out of funds: %s", provider, message)
    provider_out_of_funds_alert(provider=provider, message=message)  # once per quiet period, after commit


def orders_sweep(*, now=None) -> dict[str, int]:
    """Send orders stuck in ``sending`` (their worker stopped after the claim) to review."""
    now = now or timezone.now()
    stuck = list(
        Order.objects.filter(status=S.SENDING, sending_since__lte=now - STUCK_SENDING).values_list(
            "pk", flat=True
        )
    )
    for order_id in stuck:
        _needs_review(order_id, "The worker stopped while sending; the order may exist at the provider.")
    return {"to_review": len(stuck)}


# --- money ----------------------------------------------------------------------------------------


def order_refund(*, order: Order, amount: Decimal, reason: str, actor=None) -> Decimal:
    """Give back ``amount`` of ``order``'s charge (the order is locked by the caller). Once per order."""
    amount = _refund_due(order, amount)
    if not amount:
        return amount
    balance_change(account=account_for(order.user), actor=actor, **_refund_entry(order, amount, reason))
    order.refunded += amount
    order.save(update_fields=["refunded"])
    _refund_event(order, amount, reason, actor=actor).save()
    return amount


def _refund_due(order: Order, amount: Decimal) -> Decimal:
    """What a refund of ``amount`` gives back: nothing once the order was refunded, never past its charge."""
    amount = to_money(min(amount, order.charge - order.refunded))
    return Decimal(0) if amount <= 0 or order.refunded > 0 else amount


def _refund_entry(order: Order, amount: Decimal, reason: str) -> dict:
    """The ledger entry of an order's refund: its key makes it happen once."""
    return {
        "amount": amount,
        "kind": LedgerEntry.Kind.REFUND,
        "idempotency_key": f"refund:order:{order.pk}",
        "reference": f"order {order.pk}",
        "reason": reason,
    }


def _refund_event(order: Order, amount: Decimal, reason: str, *, actor=None) -> OrderEvent:
    return OrderEvent(
        order=order, message=f"Refunded {amount}: {reason}", public_message=f"Refunded {amount}.", actor=actor
    )


@dataclass
class _Settlements:
    """The refunds, moves and announcements status answers call for, written together by ``write``: a fixed
    number of statements however many orders a batch settles."""

    refunds: list[tuple[Order, Decimal, str]] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    # Orders whose public status changed without a move (their public status before), announced together.
    shown: list[tuple[Order, str]] = field(default_factory=list)

    def refund(self, order: Order, amount: Decimal, reason: str) -> None:
        if amount := _refund_due(order, amount):
            order.refunded += amount
            self.refunds.append((order, amount, reason))

    def write(self) -> None:
        if self.refunds:
            balance_changes(
                [
                    BalanceChange(user_id=order.user_id, **_refund_entry(order, amount, reason))
                    for order, amount, reason in self.refunds
                ]
            )
        if self.moves:
            # A move to Completed reads the order's service (its auto-refill): one query for all of them.
            prefetch_related_objects([move.instance for move in self.moves], "service")
        # The refunds' events are written with the moves' (every refund comes with its order's move).
        transitions_apply(
            self.moves,
            events=[_refund_event(order, amount, reason) for order, amount, reason in self.refunds],
        )
        public_status_announce(Order, self.shown)


def undelivered_units(order: Order, remote: RemoteOrderStatus, target: str) -> int | None:
    """How many of the units charged for were not delivered, clamped to 0…units; None when the answer
    lacks the figures (never guessed: an operator settles it)."""
    if order.is_subscription and remote.posts is not None:
        bought = int(order.fields.get("posts", 0)) + int(order.fields.get("old_posts", 0) or 0)
        if bought:
            done = max(0, min(remote.posts, bought))
            return order.units * (bought - done) // bought
    if remote.remains is not None:
        return max(0, min(remote.remains, order.units))
    if order.runs and remote.runs is not None:
        per_run = order.units // order.runs
        return max(0, order.units - per_run * max(0, min(remote.runs, order.runs)))
    # A cancel without figures is all undelivered only when nothing was ever seen delivered (nor reported
    # finished short: that Partial said some was).
    never_started = (
        order.status == S.PENDING
        and order.remains in (None, order.units)
        and order.figures_missing_since is None
    )
    return order.units if target == S.CANCELED and never_started else None


SYNCED_FIELDS = ["provider_status", "start_count", "remains", "cost", "cost_currency"]


def order_apply_status(*, order: Order, remote: RemoteOrderStatus) -> bool:
    """Apply one provider status to ``order`` (locked by the caller, in its transaction).

    True when the order was saved here: its status moved (with its event and any refund), or it reached a
    final status without the figures its refund needs — then it stays open, polled, and joins the review
    queue for an operator to settle. False when at most the figures in ``SYNCED_FIELDS`` changed: those
    are left for the caller to save, in bulk.
    """
    settlements = _Settlements()
    saved = _status_applied(order=order, remote=remote, settlements=settlements)
    settlements.write()
    return saved


def _status_applied(*, order: Order, remote: RemoteOrderStatus, settlements: "_Settlements") -> bool:
    """``order_apply_status``, its refund and move left to ``settlements``."""
    shown_before, planned = order.public_status, len(settlements.moves)
    saved = _apply_status(order=order, remote=remote, settlements=settlements)
    if len(settlements.moves) == planned and order.public_status != shown_before:
        # A subscription's Active <-> Paused is the provider's word, not a move of ours: no transition
        # announces it to customers' webhooks, so the settlements do.
        settlements.shown.append((order, shown_before))
    return saved


def _apply_status(*, order: Order, remote: RemoteOrderStatus, settlements: "_Settlements") -> bool:
    said_before = order.provider_status
    order.provider_status = remote.raw_status[:64]
    if remote.start_count is not None:
        order.start_count = remote.start_count
    if remote.charge is not None:
        order.cost, order.cost_currency = remote.charge, remote.currency
    target = _FROM_PROVIDER.get(remote.status)
    # What ends an order short needs figures: Partial and Canceled, and an Expired subscription.
    settles_money = target in (S.PARTIAL, S.CANCELED) or remote.status == OrderStatus.EXPIRED
    moving = target is not None and target != order.status and Order.states.allows(order.status, target)
    # The provider already said it ended short, without saying how short.
    short_unsettled = order.figures_missing_since is not None
    undelivered = 0
    counted = moving and (settles_money or (order.is_subscription and target == S.COMPLETED))
    if counted:
        undelivered = undelivered_units(order, remote, target)
        if undelivered is None and not settles_money and not short_unsettled:
            undelivered = 0  # a subscription Completed: every post it was paid for
    if remote.remains is not None:
        order.remains = max(0, min(remote.remains, order.units))
    if not moving:
        return False
    if short_unsettled and not counted:
        # A later "Completed" (or "In progress") without figures contradicts that answer and settles nothing:
        # closing on it would keep the undelivered part's money. Still the operator's to settle.
        if order.provider_status != said_before:
            order_event(
                order=order,
                message=f"The provider now reports {remote.raw_status} after it reported {said_before} "
                "without the figures its refund needs: still kept for an operator to settle.",
            )
        return _figures_missing(order, remote)
    if undelivered is None:
        return _figures_missing(order, remote)
    if target == S.COMPLETED and undelivered:
        target = S.PARTIAL  # ended (or expired) short of what was paid for: refunded, not refillable
    if undelivered:
        settlements.refund(
            order,
            amount=order.charge * undelivered / order.units,
            reason=f"{undelivered} of {order.units} not delivered ({remote.raw_status}).",
        )
    if counted:
        # The count the refund was for, whatever the provider's own remains said (a subscription settled by
        # posts, a drip-feed by runs): both APIs answer it, and a panel downstream refunds by it.
        order.remains = undelivered
    settlements.moves.append(
        Move(
            order,
            target,
            message=f"The provider reports {remote.raw_status}.",
            # The figures read above and the refund ride along with the move.
            changes={
                **{name: getattr(order, name) for name in SYNCED_FIELDS},
                "figures_missing_since": None,
                "refunded": order.refunded,
            },
        )
    )
    return True


def _figures_missing(order: Order, remote: RemoteOrderStatus) -> bool:
    """A final status whose refund cannot be computed: never closed by guess. The order stays open (still
    polled: a later answer with the figures settles it) and waits in the review queue."""
    if order.figures_missing_since is not None:
        return False  # already waiting: the caller saves any new figures in bulk
    order.figures_missing_since = timezone.now()
    order_event(
        order=order,
        message=f"The provider reports {remote.raw_status} without the figures its refund needs "
        "(remains): kept open for an operator to settle.",
    )
    order.save(update_fields=[*SYNCED_FIELDS, "figures_missing_since"])
    return True


@dataclass
class StatusSyncResult:
    checked: int = 0
    moved: int = 0
    calls: int = 0
    failed_batches: int = 0
    deferred_batches: int = 0  # our budget for the provider had no call free: the next run asks first
    lock_lost: bool = False

    def add(self, other: "StatusSyncResult") -> None:
        for name in ("checked", "moved", "calls", "failed_batches", "deferred_batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def lease_kept(lease) -> bool:
    """Renew ``lease`` (a ``reseller.locks.Lease``, or None when the caller holds none); False when it was
    lost — another process may be doing the same work now, so this one stops before writing more."""
    if lease is None or lease.renew():
        return True
    logger.warning("Lost the lock %s: stopping", lease.key)
    return False


def _await(future, lease):
    """The outcome of ``future``, renewing ``lease`` while waiting and once more before it is applied;
    None when the lease was lost."""
    while lease is not None:
        try:
            outcome = future.result(timeout=lease.seconds / 4)
        except FuturesTimeout:
            if not lease_kept(lease):
                return None
        else:
            return outcome if lease_kept(lease) else None
    return future.result()


def orders_sync_statuses(
    *, provider: Provider, concurrency: int | None = None, lease=None
) -> StatusSyncResult:
    """Poll every open order of ``provider``, 100 ids a call; finished orders are never polled again.

    Up to ``concurrency`` workers each take the next batch, ask for its statuses and write the answers in one
    transaction on a database connection of their own, so the database's time overlaps the provider's.
    Called inside a transaction, the writes happen in the caller's thread instead, one batch at a time in
    order: other connections cannot see the caller's uncommitted rows. ``lease`` is renewed while the batches
    go; once it is lost, no further batch is written and the sync stops.
    """
    result = StatusSyncResult()
    workers = concurrency or settings.STATUS_SYNC_CONCURRENCY
    write_here = connection.in_atomic_block
    lost = threading.Event()
    worker_connections = set()

    def fetch(batch: dict[int, str]):
        records: list = []
        try:
            return provider_client(provider, on_call=records.append).statuses(batch.values()), records
        except ProviderError as error:
            return error, records

    def fetch_and_write(batch: dict[int, str]) -> StatusSyncResult | None:
        answers, records = fetch(batch)
        if lost.is_set():
            return None
        worker_connections.add(connections[DEFAULT_DB_ALIAS])
        return _batch_settle(provider=provider, batch=batch, answers=answers, records=records)

    def settled(future, batch) -> bool:
        outcome = _await(future, lease)
        if outcome is not None and write_here:
            answers, records = outcome
            outcome = _batch_settle(provider=provider, batch=batch, answers=answers, records=records)
        if outcome is None:
            lost.set()
            result.lock_lost = True
            return False
        result.add(outcome)
        return True

    pool = ThreadPoolExecutor(max_workers=workers)
    in_flight: deque = deque()
    try:
        # A window of batches in flight: the ids are read as they are needed, so memory stays flat.
        for batch in _open_batches(provider):
            in_flight.append((pool.submit(fetch if write_here else fetch_and_write, batch), batch))
            if len(in_flight) > 2 * workers and not settled(*in_flight.popleft()):
                break
        while in_flight and not result.lock_lost:
            settled(*in_flight.popleft())
    except BaseException:
        lost.set()  # whatever stops this sync stops its workers writing
        raise
    finally:
        pool.shutdown(cancel_futures=True)
        for worker_connection in worker_connections:
            worker_connection.inc_thread_sharing()  # theirs, closed once the workers are gone
            worker_connection.close()
    return result


def _open_batches(provider: Provider) -> Iterator[dict[int, str]]:
    """The open orders of ``provider``, least recently synced first, 100 (id → provider's id) at a time."""
    ids = (
        Order.objects.filter(provider=provider, status__in=OPEN_UPSTREAM)
        .order_by("last_synced_at", "pk")
        .values_list("pk", "provider_order_id")
        .iterator(chunk_size=20 * STATUS_BATCH)
    )
    while batch := dict(islice(ids, STATUS_BATCH)):
        yield batch


def _batch_settle(
    *, provider: Provider, batch: dict[int, str], answers: object, records: list
) -> StatusSyncResult:
    """Record one batch's calls and apply its answers, in one transaction."""
    done = StatusSyncResult()
    try:
        with transaction.atomic():
            provider_calls_record(provider=provider, records=records)
            if isinstance(answers, RateLimited):
                done.deferred_batches = 1
                return done
            done.calls = 1
            if _about_the_one_order(answers, batch):
                # Asked for one id, some panels answer the whole call with "Incorrect order ID".
                answers = {order_id: ItemError(answers.message) for order_id in batch.values()}
            if isinstance(answers, ProviderError):
                done.failed_batches = 1
                logger.warning("Status sync of %s: a batch failed: %s", provider, answers)
                return done
            done.moved = _apply_batch(batch, answers)
            done.checked = len(batch)
    except Exception:
        provider_calls_record(provider=provider, records=records)  # made, whatever became of the writes
        raise
    return done


def _about_the_one_order(answer: object, batch: dict[int, str]) -> bool:
    """A permanent refusal of a one-id status call is about that order (a wrong key is about everything)."""
    return (
        isinstance(answer, ProviderRejected)
        and len(batch) == 1
        and not answer.retry_later
        and not answer.is_auth_error
    )


# What a status sync writes of every order of a batch, in one statement.
SYNC_WRITTEN = [
    *SYNCED_FIELDS,
    "last_synced_at",
    "unaccounted_since",
    "unaccounted_syncs",
    "unaccounted_reason",
]


def _unaccounted_reason(answer: object) -> str | None:
    """Why an answer does not account for the order (DOMAIN §4.13), or None when it does."""
    if isinstance(answer, ItemError):
        return f"The provider answers {answer.message!r} for this order."
    if answer is None:
        return "The provider leaves this order out of its status answers."
    if answer.status == OrderStatus.UNKNOWN:
        return f"The provider reports a status nobody knows: {answer.raw_status!r}."
    return None


def _apply_batch(batch: dict[int, str], answers: dict) -> int:
    """Apply a batch's answers (in the caller's transaction): a fixed number of queries, plus a few for each
    order that moved. Its rows are locked by primary key, in order: no plan reads other orders, and two
    writers never wait on each other in a circle."""
    moved, now, settlements = 0, timezone.now(), _Settlements()
    orders = list(Order.objects.select_for_update().filter(pk__in=list(batch)).order_by("pk"))
    for order in orders:
        order.last_synced_at = now
        if order.status not in OPEN_UPSTREAM:
            continue  # finished since it was listed
        answer = answers.get(order.provider_order_id)
        # Counted per sync, so that one glitch is no alarm; a normal answer starts the count again.
        if (reason := _unaccounted_reason(answer)) is not None:
            order.unaccounted_since = order.unaccounted_since or now
            order.unaccounted_syncs += 1
            order.unaccounted_reason = reason[:255]
        else:
            order.unaccounted_since, order.unaccounted_syncs, order.unaccounted_reason = None, 0, ""
        if isinstance(answer, RemoteOrderStatus):
            moved += _status_applied(order=order, remote=answer, settlements=settlements)
    settlements.write()
    rows_update(
        Order, [(order.pk, {name: getattr(order, name) for name in SYNC_WRITTEN}, {}) for order in orders]
    )
    return moved


# --- cancel ---------------------------------------------------------------------------------------


def cancel_refusal(order: Order) -> str | None:
    """Why ``order`` cannot be canceled now, or None when it can."""
    if not order.service.cancel:
        return _("This service cannot be canceled.")
    if order.status not in UNSENT | OPEN_UPSTREAM:
        return _("This order can no longer be canceled.")
    if order.cancel_requested_at:
        return _("A cancel of this order was already requested.")
    return None


def order_cancel(*, order: Order, actor=None) -> str:
    """The customer asks to cancel. Not yet sent: canceled here, refunded in full. Sent: the provider
    is asked, and the refund follows only when it reports Canceled or Partial. Returns a line to show."""
    from orders.tasks import send_cancel

    with transaction.atomic():
        order = _locked(order.pk)
        if refusal := cancel_refusal(order):
            raise ValidationError(refusal)
        if order.status in UNSENT:
            order_refund(order=order, amount=order.charge, reason="Canceled before it was sent.", actor=actor)
            transition(order, S.CANCELED, message="Canceled before it was sent.", actor=actor)
            return _("Canceled and refunded.")
        order.cancel_requested_at = timezone.now()
        order.save(update_fields=["cancel_requested_at"])
        order_event(
            order=order, message="Cancel requested.", public=gettext_noop("Cancel requested."), actor=actor
        )
        enqueue_after_commit(send_cancel, order.pk)
    return _("Cancel requested: the undelivered part is refunded once the provider confirms.")


def order_cancel_send(*, order_id: int) -> int | None:
    """Ask the provider to cancel; returns seconds until a retry when nothing was sent."""
    order = Order.objects.select_related("provider").get(pk=order_id)
    if order.status not in OPEN_UPSTREAM:
        return None
    try:
        answer = (
            provider_client(order.provider).cancel([order.provider_order_id]).get(order.provider_order_id)
        )
    except ProviderUnavailable as error:
        return retry_in(error, RETRY_UNAVAILABLE[0])
    except ProviderRejected as error:
        answer = ItemError(error.message)
    except Exception as error:  # a cancel that may have arrived is not sent again; the status sync tells
        answer = None
        logger.warning("Cancel of order %s: no valid answer (%s)", order_id, error)
    with transaction.atomic():
        order = _locked(order_id)
        if answer is True:
            order_event(
                order=order, message="The provider accepted the cancel; the refund follows its status."
            )
        elif isinstance(answer, ItemError):
            order.cancel_requested_at = None
            order.save(update_fields=["cancel_requested_at"])
            order_event(order=order, message=f"The provider refused the cancel: {answer.message}")
        else:
            order_event(
                order=order, message="The cancel request got no clear answer; the status sync will tell."
            )
    return None


# --- an operator resolves a review ----------------------------------------------------------------


def _order_state(order: Order) -> dict:
    """What an operator's resolution may change, for its audit row."""
    return {
        "status": order.status,
        "refunded": order.refunded,
        "remains": order.remains,
        "provider_order_id": order.provider_order_id,
        "review_resolved_at": order.review_resolved_at,
    }


def _order_audit(order: Order, before: dict, *, actor, verb: str, reason: str = "") -> None:
    changes = audit_changes(before, _order_state(order))
    audit_record(actor=actor, verb=verb, target=order, changes=changes, reason=reason)


def order_mark_resolved(*, order: Order, actor, note: str = "") -> None:
    """The operator checked a stuck order (waiting, a cancel the provider never confirmed, …) and takes it
    off the review queue. An unknown outcome cannot be waved away: it needs attach, resend or refund."""
    with transaction.atomic():
        order = _locked(order.pk)
        if order.outcome_unknown:
            raise OrderRefused(
                f"Order #{order.pk}: an unknown outcome is resolved by attaching the provider's id, "
                "resending or refunding."
            )
        if order.figures_missing_since and order.status in OPEN_UPSTREAM:
            raise OrderRefused(
                f"Order #{order.pk} ended at the provider without the figures its refund needs: settle it "
                "with how many were not delivered (0 if all were)."
            )
        before = _order_state(order)
        order.review_resolved_at = timezone.now()
        order.save(update_fields=["review_resolved_at"])
        order_event(
            order=order, message=f"Marked resolved by {actor}{': ' + note if note else ''}.", actor=actor
        )
        _order_audit(order, before, actor=actor, verb="mark_resolved", reason=note)


def order_settle_undelivered(*, order: Order, undelivered: int, actor, note: str = "") -> Decimal:
    """The operator looked up an order the provider's answers leave unsettled (finished without the figures
    its refund needs, no longer known, or at a provider that is disabled and so no longer asked) and says
    how many units were not delivered: the order is closed — Completed, Partial or Canceled — and exactly
    that part refunded, once. Returns the refund."""
    with transaction.atomic():
        order = _locked(order.pk)
        unsettled = order.figures_missing_since or order.unaccounted_since or not order.provider.enabled
        if order.status not in OPEN_UPSTREAM or not unsettled:
            raise OrderRefused(
                f"Order #{order.pk}: only an open order whose provider gave no figures, no longer knows it "
                "or is disabled is settled by hand."
            )
        return _close_with_refund(order, undelivered=undelivered, actor=actor, note=note, verb="settle")


def order_attach_provider_id(*, order: Order, provider_order_id: str, actor) -> None:
    """The operator found the order at the provider: follow it from now on."""
    with transaction.atomic():
        order = _locked(order.pk)
        before = _order_state(order)
        transition(
            order,
            S.PENDING,
            message=f"Provider order #{provider_order_id.strip()} attached by {actor}.",
            actor=actor,
            changes={
                "provider_order_id": provider_order_id.strip(),
                "sent_at": order.sent_at or timezone.now(),
                "wait_reason": "",
            },
        )
        _order_audit(order, before, actor=actor, verb="attach")


def order_resend(*, order: Order, actor) -> None:
    """The operator confirmed the provider never received it: send it again."""
    from orders.dispatch import dispatch_after_commit  # the dispatcher imports this module

    with transaction.atomic():
        order = _locked(order.pk)
        before = _order_state(order)
        transition(
            order,
            S.QUEUED,
            message=f"{actor} confirmed the provider has no such order; sending again.",
            actor=actor,
            changes={"wait_reason": "", "next_attempt_at": timezone.now()},
        )
        _order_audit(order, before, actor=actor, verb="resend")
        dispatch_after_commit(order.provider_id)


def _refund_by_hand_allowed(actor) -> None:
    """Refunding on an operator's word moves the panel's money: only who may (``roles.moves_money``)."""
    if not moves_money(actor):
        raise PermissionDenied("Refunding an order by hand moves a balance: the Owner's to do.")


def order_fail_and_refund(*, order: Order, actor, reason: str) -> None:
    """The operator gives up on an order that was never placed upstream: refund all of it."""
    _refund_by_hand_allowed(actor)
    with transaction.atomic():
        order = _locked(order.pk)
        if order.status not in (S.NEEDS_REVIEW, S.QUEUED, S.WAITING):
            raise OrderRefused(
                f"Order #{order.pk} is {order.get_status_display()}: it cannot be refunded in full."
            )
        before = _order_state(order)
        order_refund(order=order, amount=order.charge, reason=reason, actor=actor)
        transition(order, S.FAILED, message=f"Refunded by {actor}: {reason}", actor=actor)
        _order_audit(order, before, actor=actor, verb="refund", reason=reason)


# --- an operator's daily hand on an order --------------------------------------------------------------

# What the customer reads when an operator changes their order: the outcome, never who serves it. Stored in
# English; the storefront translates the fixed lines (gettext_noop) as it shows them.
_FIGURES_PUBLIC = gettext_noop("Progress figures updated.")


def order_set_figures(
    *, order: Order, actor, start_count: int | None = None, remains: int | None = None, note: str = ""
) -> None:
    """The operator sets the start count and/or remains of an order the provider serves (read off the
    provider's panel, or the page the link leads to) while it is open there. Figures only: the status
    and the money stay; a figure left None is kept."""
    with transaction.atomic():
        order = _locked(order.pk)
        if order.status not in OPEN_UPSTREAM:  # a closed order's figures decided its refund: kept
            raise OrderRefused(
                f"Order #{order.pk} is {order.get_status_display()}: only an open order's figures are set."
            )
        if start_count is None and remains is None:
            raise ValidationError("Give a start count, remains, or both.")
        if start_count is not None and start_count < 0:
            raise ValidationError("The start count cannot be negative.")
        if remains is not None and not 0 <= remains <= order.units:
            raise ValidationError(f"Order #{order.pk} has {order.units} units: remains 0 to {order.units}.")
        before = {**_order_state(order), "start_count": order.start_count}
        changed = {
            name: value
            for name, value in {"start_count": start_count, "remains": remains}.items()
            if value is not None
        }
        Order.objects.filter(pk=order.pk).update(**changed)
        for name, value in changed.items():
            setattr(order, name, value)
        said = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in changed.items())
        order_event(
            order=order,
            message=f"{actor} set {said}{' (' + note + ')' if note else ''}.",
            public=_FIGURES_PUBLIC,
            actor=actor,
        )
        after = {**_order_state(order), "start_count": order.start_count}
        audit_record(
            actor=actor, verb="set_figures", target=order, changes=audit_changes(before, after), reason=note
        )


def order_finish(*, order: Order, undelivered: int, actor, note: str = "") -> Decimal:
    """The operator closes an order the provider serves as it really ended: all delivered (Completed),
    part of it (Partial), or none (Canceled) — the refund is the charge x undelivered / units, given once
    (``order_refund``). For a provider that finished without telling us, or whose word is wrong. Returns
    the refund."""
    with transaction.atomic():
        order = _locked(order.pk)
        if order.status not in OPEN_UPSTREAM:
            raise OrderRefused(
                f"Order #{order.pk} is {order.get_status_display()}: only an order open at the provider is "
                "marked completed or partial."
            )
        return _close_with_refund(order, undelivered=undelivered, actor=actor, note=note, verb="finish")


def order_cancel_placed(*, order: Order, actor, provider_checked: bool, note: str = "") -> Decimal:
    """The operator cancels an order already placed upstream and refunds what it has not delivered (its
    remains; all of it when none are known). Only once they say they checked the provider (the order is
    canceled there, or never will deliver): otherwise the provider delivers and charges us while the
    customer has their money back. Returns the refund."""
    with transaction.atomic():
        order = _locked(order.pk)
        if order.status not in OPEN_UPSTREAM:
            raise OrderRefused(
                f"Order #{order.pk} is {order.get_status_display()}: only an order open at the provider is "
                "canceled here."
            )
        if not provider_checked:
            raise ValidationError("Check the provider first: it must not deliver this order any more.")
        undelivered = order.units if order.remains is None else order.remains
        refund = _close_with_refund(
            order, undelivered=undelivered, actor=actor, note=note, verb="cancel_placed", target=S.CANCELED
        )
        Order.objects.filter(pk=order.pk).update(cancel_requested_at=None)
    return refund


def _close_with_refund(
    order: Order, *, undelivered: int, actor, note: str, verb: str, target: str | None = None
) -> Decimal:
    """Close ``order`` (locked by the caller) on the operator's count of undelivered units — Completed,
    Partial or Canceled unless ``target`` says — refunding exactly that part, once; audited as ``verb``."""
    _refund_by_hand_allowed(actor)
    if not 0 <= undelivered <= order.units:
        raise ValidationError(f"Order #{order.pk} has {order.units} units: give 0 to {order.units}.")
    before = _order_state(order)
    if target is None:
        target = S.COMPLETED if undelivered == 0 else S.CANCELED if undelivered == order.units else S.PARTIAL
    said = f"{actor} closed it as {S(target).label}: {undelivered} of {order.units} not delivered" + (
        f" ({note})." if note else "."
    )
    refunded = Decimal(0)
    if undelivered:
        refunded = order_refund(
            order=order, amount=order.charge * undelivered / order.units, reason=said, actor=actor
        )
    transition(
        order,
        target,
        message=said,
        public=f"{S(target).label}: {undelivered} of {order.units} not delivered.",
        actor=actor,
        changes={
            "remains": undelivered,
            "figures_missing_since": None,
            "unaccounted_since": None,
            "unaccounted_syncs": 0,
            "unaccounted_reason": "",
        },
    )
    _order_audit(order, before, actor=actor, verb=verb, reason=note)
    return refunded


def resend_choices(order: Order):
    """The provider services ``order`` may be resent to: its service's other routes of its type."""
    return [
        route.provider_service
        for route in routes_for(order)
        if route.provider_service_id != order.provider_service_id
        and route.enabled
        and route.provider_service.type == order.type
        and route.provider_service.active
    ]


def order_resend_to(*, order: Order, provider_service, actor, provider_checked: bool = False) -> None:
    """Send an unsent order, or one of unknown outcome, to another provider service of its service's
    routes (same type). The one it is at is taken off this order's routes (refused by the operator), and
    the others wait this round, so the dispatcher sends it where the operator chose. An unknown outcome
    may still be placed: only once the operator says they checked that provider."""
    from orders.dispatch import dispatch_after_commit  # the dispatcher imports this module

    with transaction.atomic():
        order = _locked(order.pk)
        if order.status not in UNSENT | {S.NEEDS_REVIEW}:
            raise OrderRefused(
                f"Order #{order.pk} is {order.get_status_display()}: only an order not placed upstream "
                "is resent."
            )
        if order.status == S.NEEDS_REVIEW and not provider_checked:
            raise ValidationError(
                f"Order #{order.pk} may be placed at {order.provider} already: check its panel and confirm."
            )
        if provider_service.pk not in {choice.pk for choice in resend_choices(order)}:
            raise ValidationError(
                {"provider_service": f"Choose another enabled route of {order.service} of type {order.type}."}
            )
        before = {**_order_state(order), "provider_service": str(order.provider_service)}
        outcomes = {str(route.provider_service_id): LATER for route in routes_for(order)}
        outcomes.update({key: said for key, said in order.route_outcomes.items() if said == REFUSED})
        outcomes[str(order.provider_service_id)] = REFUSED
        outcomes.pop(str(provider_service.pk), None)
        changes = {
            "provider": provider_service.provider,
            "provider_service": provider_service,
            "route_outcomes": outcomes,
            "next_attempt_at": timezone.now(),
            "wait_reason": "",
        }
        message = f"{actor} resent it from {order.provider_service} to {provider_service}."
        if order.status == S.QUEUED:  # no move of status: the fields and a line of history
            Order.objects.filter(pk=order.pk).update(**changes)
            for name, value in changes.items():
                setattr(order, name, value)
            order_event(order=order, message=message, actor=actor)
        else:
            transition(order, S.QUEUED, message=message, actor=actor, changes=changes)
        after = {**_order_state(order), "provider_service": str(order.provider_service)}
        audit_record(actor=actor, verb="resend_to", target=order, changes=audit_changes(before, after))
        dispatch_after_commit(order.provider_id)
