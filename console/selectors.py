"""What the operator console reads: the review queue and the dashboard's figures, each in a few queries."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from billing.models import Account
from billing.money import to_money
from catalogue.models import CurrencyRate, Service, ServiceRoute
from orders.dispatch import LimitedBy, dispatch_states, is_due
from orders.models import Order, Refill
from orders.selectors import orders_needing_review, refills_needing_review
from orders.tally import tally
from panels.health import breaker_state
from panels.models import Provider, ProviderCall, SyncRun
from panels.ratelimit import ProviderBudget
from panels.selectors import providers_with_vitals

S = Order.Status
ENDED_UPSTREAM = Order.states.group("ended_upstream")

# Why an order is in the queue, and what the operator should check.
REASONS = {
    "unknown": "Outcome unknown: search the provider's panel for this link. Found: attach its order id. "
    "Not there: resend it, or refund it.",
    "sending": "Stuck while sending: the worker stopped mid-call. Check the provider as for an unknown "
    "outcome.",
    "queued": "Not sent for a while: is a worker serving the sending queue running (`celery worker -Q "
    "celery`)? The dashboard's heartbeat shows both sides.",
    "waiting": "Waiting to be sent again: ",
    "cancel": "The provider never confirmed the cancel: check the order there; refunds follow its status.",
    "figures": "The provider reports it finished ({}) without the figures the refund needs (remains): look "
    "the order up in the provider's panel and settle it with how many were not delivered (0 if all were); "
    "exactly that part is refunded.",
    "unaccounted": "The provider no longer knows this order: {} Look it up in the provider's panel: still "
    "running there → mark resolved; finished → settle it with how many were not delivered.",
    "disabled": "Its provider is disabled, so its status is no longer followed and nothing it did not "
    "deliver is refunded. Enable the provider again, or look the order up in the provider's panel: finished "
    "→ settle it with how many were not delivered; still running → mark resolved.",
}


@dataclass
class QueueEntry:
    order: Order
    reason: str
    check: str


# In place of the provider's words and ids, for staff who may not see providers (``sees_providers``).
WITHHELD = "…"


def review_queue(*, now=None, limit: int | None = None, provider_details: bool = True) -> list[QueueEntry]:
    """The orders an operator must look at (``orders_needing_review``), oldest first, with why and what to
    check; one query. Without ``provider_details`` the checks quote nothing the provider said."""
    entries = []
    for order in orders_needing_review(now=now).select_related("user", "service", "provider")[:limit]:
        reason = _reason(order)
        detail = {
            "waiting": order.wait_reason,
            "figures": order.provider_status,
            "unaccounted": order.unaccounted_reason,
        }.get(reason, "")
        if not provider_details:
            detail = WITHHELD
        check = REASONS[reason] + detail if reason == "waiting" else REASONS[reason].format(detail)
        entries.append(QueueEntry(order=order, reason=reason, check=check))
    return entries


def _reason(order: Order) -> str:
    """Which rule of ``orders_needing_review`` put ``order`` in the queue."""
    by_status = {S.NEEDS_REVIEW: "unknown", S.SENDING: "sending", S.QUEUED: "queued", S.WAITING: "waiting"}
    if order.status in by_status:
        return by_status[order.status]
    if order.figures_missing_since:
        return "figures"
    if order.unaccounted_syncs >= settings.UNACCOUNTED_REVIEW_SYNCS:
        return "unaccounted"
    if not order.provider.enabled:
        return "disabled"
    return "cancel"


REFILL_CHECK = (
    "The refill request got no valid answer: look in the provider's refills for its order #{}. Found: attach "
    "its refill id. Not there: close the request (the customer may ask again)."
)


@dataclass
class RefillEntry:
    refill: Refill
    check: str


def review_refills(*, limit: int | None = None, provider_details: bool = True) -> list[RefillEntry]:
    """Refill requests of unknown outcome (``refills_needing_review``), oldest first; one query."""
    refills = refills_needing_review().select_related("order__user", "order__provider", "order__service")
    return [
        RefillEntry(
            refill=refill,
            check=REFILL_CHECK.format(refill.order.provider_order_id if provider_details else WITHHELD),
        )
        for refill in refills[:limit]
    ]


@dataclass
class AutoRefills:
    requested: int  # refills auto-refill asked for in the last 24 hours
    followed: int  # completed orders it looks at again


def auto_refills(*, now=None) -> AutoRefills:
    """Auto-refill at a glance, in two counts over partial indexes (``orders.auto_refill``)."""
    since = (now or timezone.now()) - timedelta(hours=24)
    return AutoRefills(
        requested=Refill.objects.filter(automatic=True, created_at__gte=since).count(),
        followed=Order.objects.filter(auto_refill_check_at__isnull=False).count(),
    )


def review_counts() -> tuple[int, int]:
    """How many orders and how many refill requests wait for an operator."""
    return orders_needing_review().count(), refills_needing_review().count()


# The dashboard and the front page count the queue up to this many and show more as "1,000+": an exact count
# reads every order in the queue, and past this many the number tells the operator nothing more.
REVIEW_COUNT_SHOWN = 1000


def review_queue_count() -> int:
    """How many orders and refill requests wait for an operator, counted up to ``REVIEW_COUNT_SHOWN`` + 1
    (``review_count_shown`` writes that as "1,000+")."""
    limit = REVIEW_COUNT_SHOWN + 1
    orders = orders_needing_review().order_by()[:limit].count()
    return min(orders + refills_needing_review().order_by()[:limit].count(), limit)


def review_count_shown(count: int) -> str:
    return f"{REVIEW_COUNT_SHOWN:,}+" if count > REVIEW_COUNT_SHOWN else str(count)


# --- the dashboard ----------------------------------------------------------------------------------------


@dataclass
class Day:
    day: date
    revenue: Decimal
    cost: Decimal

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost


def _rates() -> dict[str, Decimal]:
    return {settings.PANEL_CURRENCY: Decimal(1), **dict(CurrencyRate.objects.values_list("currency", "rate"))}


def period_start(*, days: int, now=None) -> date:
    """The first of the last ``days`` days, today included: every period figure of the dashboard is of the
    orders placed on those days (in the panel's time zone)."""
    return timezone.localdate(now or timezone.now()) - timedelta(days=days - 1)


def money_by_day(*, days: int = 30, now=None) -> tuple[list[Day], list[str]]:
    """Revenue (charges less refunds), provider cost (converted at today's rates) and profit per day of
    orders placed in the last ``days`` days; also the cost currencies without a rate (left out). From the
    orders' tally (``orders.tally``): two queries over days, not orders."""
    first = period_start(days=days, now=now)
    rates, unknown = _rates(), set()
    by_day = {
        first + timedelta(days=n): Day(first + timedelta(days=n), Decimal(0), Decimal(0)) for n in range(days)
    }
    by_currency = tally("day", "cost_currency", since=first, leaving_out=(S.FAILED,))
    for (day, currency), figures in by_currency.items():
        entry = by_day.get(day)
        if entry is None:
            continue
        entry.revenue += to_money(figures.revenue)
        if figures.costed:
            if currency in rates:
                entry.cost += to_money(figures.cost * rates[currency])
            else:
                unknown.add(currency)
    return list(by_day.values()), sorted(unknown)


def orders_by_status() -> list[tuple[str, int]]:
    counts = {status: figures.orders for (status,), figures in tally("status").items()}
    return [(label, counts.get(value, 0)) for value, label in S.choices]


def top_services(*, days: int = 30, limit: int = 10, now=None) -> list[dict]:
    """The services that made the most revenue on the last ``days`` days, with their orders (failed ones
    left out)."""
    by_service = tally("service_id", since=period_start(days=days, now=now), leaving_out=(S.FAILED,))
    top = sorted(
        (
            (service_id, figures.revenue, figures.orders)
            for (service_id,), figures in by_service.items()
            if figures.orders
        ),
        key=lambda row: (-row[1], row[0]),
    )[:limit]
    names = dict(Service.objects.filter(pk__in=[row[0] for row in top]).values_list("pk", "name"))
    return [
        {
            "service_id": service_id,
            "service__name": names.get(service_id),
            "revenue": to_money(revenue),
            "orders": orders,
        }
        for service_id, revenue, orders in top
    ]


@dataclass
class Balances:
    customers: Decimal
    providers: list[tuple[Provider, Decimal | None]]  # each provider's balance in the panel currency

    @property
    def providers_total(self) -> Decimal:
        return sum((value for _, value in self.providers if value is not None), Decimal(0))


def balances() -> Balances:
    rates = _rates()
    providers = [
        (
            provider,
            to_money(provider.balance * rates[provider.currency])
            if provider.balance is not None and provider.currency in rates
            else None,
        )
        for provider in Provider.objects.order_by("name")
    ]
    total = Account.objects.aggregate(total=Sum("balance"))["total"] or Decimal(0)
    return Balances(customers=to_money(total), providers=providers)


# A sync is late once it has not worked for this many of its intervals: one failed run is no alarm.
LATE_AFTER_INTERVALS = 3


def sync_intervals() -> dict[str, timedelta]:
    return {
        SyncRun.Kind.STATUS: timedelta(seconds=settings.STATUS_SYNC_SECONDS),
        SyncRun.Kind.CATALOGUE: timedelta(minutes=settings.CATALOGUE_SYNC_MINUTES),
        SyncRun.Kind.BALANCE: timedelta(minutes=settings.BALANCE_SYNC_MINUTES),
    }


@dataclass
class SyncState:
    kind: str
    last_ok: datetime | None
    late: bool


def provider_health(*, days: int = 30, now=None) -> list[Provider]:
    """Per provider: error rate of the last 24 h, share of partial and canceled among finished orders and
    average time from sending to completion of the orders placed on the last ``days`` days, and each kind
    of sync's last success, late when it has not worked for ``LATE_AFTER_INTERVALS`` of its intervals (or,
    never, since the provider was added)."""
    now = now or timezone.now()
    # Order figures from the orders' tally, by provider and status.
    by_status = tally("provider_id", "status", since=period_start(days=days, now=now))
    providers = list(providers_with_vitals().order_by("name"))
    for provider in providers:
        mine = {
            status: figures
            for (provider_id, status), figures in by_status.items()
            if provider_id == provider.pk
        }
        provider.finished = sum(mine[status].orders for status in ENDED_UPSTREAM if status in mine)
        provider.partials = mine[S.PARTIAL].orders if S.PARTIAL in mine else 0
        provider.cancels = mine[S.CANCELED].orders if S.CANCELED in mine else 0
        provider.completion = mine[S.COMPLETED].average_completion if S.COMPLETED in mine else None
        provider.error_rate = (
            Decimal(provider.recent_failed_calls or 0) / provider.recent_calls * 100
            if provider.recent_calls
            else None
        )
        provider.partial_share = (
            Decimal(provider.partials) / provider.finished * 100 if provider.finished else None
        )
        provider.cancel_share = (
            Decimal(provider.cancels) / provider.finished * 100 if provider.finished else None
        )
        provider.breaker = breaker_state(provider, now=now)
        provider.syncs = sync_states(provider, now=now)
    return providers


def sync_states(provider: Provider, *, now) -> list[SyncState]:
    """Each kind of sync of ``provider`` (annotated by ``providers_with_vitals``): its last success, and
    whether it is late — it has not worked for ``LATE_AFTER_INTERVALS`` of its intervals (or, never, since
    the provider was added). The dashboard and the operator alerts judge it alike."""
    states = []
    for kind, interval in sync_intervals().items():
        last_ok = getattr(provider, f"last_ok_{kind}_sync")
        # A disabled provider is not synced: nothing to be late for. A new one gets its first intervals.
        since = last_ok or provider.created_at
        late = provider.enabled and now - since > LATE_AFTER_INTERVALS * interval
        states.append(SyncState(kind=kind, last_ok=last_ok, late=late))
    return states


# --- sending: each provider's backlog, send rate and what limits it (issue 18) --------------------------

SENDING_WINDOW = timedelta(minutes=10)  # the send rate and the call log's errors are of this long
# A dispatcher run stopped by the budget or by slowness comes back within a minute: an older one is no news.
STATE_FRESH = timedelta(minutes=2)
# Limited by errors: this share of the window's calls failed (nothing sent, or no valid answer), and at least
# ERRORS_MIN_FAILED of them, so that one failed call of a quiet provider is no alarm.
ERRORS_LIMIT_PERCENT = 20
ERRORS_MIN_FAILED = 3
ERRORS = "errors"
FAILED = [ProviderCall.Outcome.UNAVAILABLE, ProviderCall.Outcome.UNKNOWN]


@dataclass
class Sending:
    provider: Provider
    unsent: int  # the backlog: orders waiting to be sent
    due: int  # of which due now (the rest wait for a retry)
    sent: int  # orders sent in the window
    budget: ProviderBudget
    calls: int  # calls of the window, of any action
    failed_calls: int
    add_ms: float | None  # the average answer to an add in the window
    limited_by: str  # LimitedBy.RATE_LIMIT, LimitedBy.SLOWNESS, ERRORS or ""
    stopped_at: datetime | None  # when the dispatcher last stopped on the budget or a slice's end

    @property
    def per_minute(self) -> Decimal:
        return Decimal(self.sent) / Decimal(SENDING_WINDOW.total_seconds() / 60)

    @property
    def failed_percent(self) -> Decimal | None:
        return Decimal(self.failed_calls) / self.calls * 100 if self.calls else None

    @property
    def paced_by_answers(self) -> Decimal | None:
        """The orders a minute the provider's answers allow at ``send_concurrency`` in flight."""
        if not self.add_ms:
            return None
        return Decimal(self.provider.send_concurrency * 60_000) / Decimal(self.add_ms)


def sending(*, providers: list[Provider], now=None) -> list[Sending]:
    """Per provider: the backlog and how much of it is due, orders sent in ``SENDING_WINDOW`` (a rate a
    minute), its budget, and what limits its sending — errors (``ERRORS_LIMIT_PERCENT`` of the window's
    calls failed), its rate limit (the dispatcher's last run, fresh, stopped on the budget with orders due),
    slowness (that run's slice ended with orders due, or its answers to add allow fewer orders a minute than
    the budget with orders due), or nothing. Three queries on indexes that hold the backlog and the window
    (``order_unsent_due``, ``order_sent_at``, the call log's ``created_at``), and one cache read."""
    now = now or timezone.now()
    since = now - SENDING_WINDOW
    backlog = {
        row["provider"]: row
        for row in Order.objects.filter(status__in=Order.states.group("unsent"))
        .values("provider")
        # Counted by provider (never empty), not id: the partial index order_unsent_due holds all it reads,
        # so it is read alone (index only), however long the backlog.
        .annotate(unsent=Count("provider"), due=Count("provider", filter=is_due(now)))
        .order_by()
    }
    sent = dict(
        Order.objects.filter(sent_at__gte=since)
        .values("provider")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("provider", "n")
    )
    calls = {
        row["provider"]: row
        for row in ProviderCall.objects.filter(created_at__gte=since)
        .values("provider")
        .annotate(
            calls=Count("pk"),
            failed=Count("pk", filter=Q(outcome__in=FAILED)),
            add_ms=Avg("duration_ms", filter=Q(action="add")),
        )
        .order_by()
    }
    states = dispatch_states([provider.pk for provider in providers])
    rows = []
    for provider in providers:
        orders, log = backlog.get(provider.pk, {}), calls.get(provider.pk, {})
        state = states.get(provider.pk) or {}
        fresh = state.get("limited_by") and now - state["at"] <= STATE_FRESH
        row = Sending(
            provider=provider,
            unsent=orders.get("unsent", 0),
            due=orders.get("due", 0),
            sent=sent.get(provider.pk, 0),
            budget=ProviderBudget(provider.pk, provider.calls_per_minute),
            calls=log.get("calls", 0),
            failed_calls=log.get("failed", 0),
            add_ms=log.get("add_ms"),
            limited_by="",
            stopped_at=state["at"] if fresh else None,
        )
        row.limited_by = _limited_by(row, state.get("limited_by") if fresh else "")
        rows.append(row)
    return rows


def _limited_by(row: Sending, stopped_on: str) -> str:
    if row.failed_calls >= ERRORS_MIN_FAILED and row.failed_percent > ERRORS_LIMIT_PERCENT:
        return ERRORS
    if not row.unsent:
        return ""  # nothing waits: nothing holds it back
    if stopped_on:
        return stopped_on
    sending_budget = row.budget.calls_per_minute - row.budget.kept
    if row.due and row.paced_by_answers is not None and row.paced_by_answers < sending_budget:
        return LimitedBy.SLOWNESS
    return ""


# --- routing: where orders of services with several routes went, and each provider's breaker (issue 17) --

ROUTES_WINDOW = timedelta(hours=24)


@dataclass
class RouteShare:
    route: ServiceRoute
    orders: int  # accepted through this route in the window
    percent: Decimal | None  # of the service's accepted orders; None when it had none


@dataclass
class RoutedService:
    service: Service
    routing: str  # the service's routing mode, as the operator reads it
    routes: list[RouteShare]


def route_shares(*, now=None) -> list[RoutedService]:
    """Each service with more than one route, and how many of its orders each route accepted in the last
    ``ROUTES_WINDOW`` (orders sent, by the provider service that accepted them); two queries."""
    since = (now or timezone.now()) - ROUTES_WINDOW
    routes = list(
        ServiceRoute.objects.filter(
            service__in=ServiceRoute.objects.values("service")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .values("service")
        ).select_related("service", "provider_service__provider")
    )
    services = {route.service_id: route.service for route in routes}
    accepted = {
        (row["service"], row["provider_service"]): row["n"]
        for row in Order.objects.filter(sent_at__gte=since, service__in=list(services))
        .values("service", "provider_service")
        .annotate(n=Count("pk"))
        .order_by()
    }
    rows = []
    for service_id, service in sorted(services.items()):
        own = sorted(
            (route for route in routes if route.service_id == service_id), key=lambda r: (r.position, r.pk)
        )
        total = sum(accepted.get((service_id, route.provider_service_id), 0) for route in own)
        shares = []
        for route in own:
            count = accepted.get((service_id, route.provider_service_id), 0)
            shares.append(RouteShare(route, count, Decimal(count) * 100 / total if total else None))
        rows.append(RoutedService(service, service.get_routing_display(), shares))
    return rows
