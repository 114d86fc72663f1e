"""What the operator console reads: the review queue and the dashboard's figures, each in a few queries."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import Account
from billing.money import to_money
from orders.models import CurrencyRate, Order
from orders.services import OPEN_UPSTREAM, STUCK_SENDING
from panels.models import Provider, SyncRun
from panels.selectors import providers_with_health

S = Order.Status
STUCK_QUEUED = timedelta(minutes=10)
STUCK_WAITING = timedelta(hours=1)
UNCONFIRMED_CANCEL = timedelta(hours=1)
FINISHED = [S.COMPLETED, S.PARTIAL, S.CANCELED]

# Why an order is in the queue, and what the operator should check.
REASONS = {
    "unknown": "Outcome unknown: search the provider's panel for this link. Found: attach its order id. "
    "Not there: resend it, or refund it.",
    "sending": "Stuck while sending: the worker stopped mid-call. Check the provider as for an unknown "
    "outcome.",
    "queued": "Not sent for a while: is the worker running (see the heartbeat on the dashboard)?",
    "waiting": "Waiting to be sent again: ",
    "cancel": "The provider never confirmed the cancel: check the order there; refunds follow its status.",
}


@dataclass
class QueueEntry:
    order: Order
    reason: str
    check: str


def review_queue(*, now=None) -> list[QueueEntry]:
    """Every order whose outcome is unknown or that is stuck, oldest first; one query."""
    now = now or timezone.now()
    stuck = (
        Q(status=S.NEEDS_REVIEW)
        | Q(status=S.SENDING, sending_since__lt=now - STUCK_SENDING)
        | Q(status=S.QUEUED, created_at__lt=now - STUCK_QUEUED)
        | Q(status=S.WAITING, created_at__lt=now - STUCK_WAITING)
        | Q(status__in=OPEN_UPSTREAM, cancel_requested_at__lt=now - UNCONFIRMED_CANCEL)
    )
    orders = (
        Order.objects.filter(stuck)
        .filter(Q(status=S.NEEDS_REVIEW) | Q(review_resolved_at__isnull=True))
        .select_related("user", "service", "provider")
        .order_by("created_at")
    )
    entries = []
    for order in orders:
        reason = {
            S.NEEDS_REVIEW: "unknown",
            S.SENDING: "sending",
            S.QUEUED: "queued",
            S.WAITING: "waiting",
        }.get(order.status, "cancel")
        check = REASONS[reason] + (order.wait_reason if reason == "waiting" else "")
        entries.append(QueueEntry(order=order, reason=reason, check=check))
    return entries


def review_queue_count() -> int:
    return len(review_queue())


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


def money_by_day(*, days: int = 30, now=None) -> tuple[list[Day], list[str]]:
    """Revenue (charges less refunds), provider cost (converted at today's rates) and profit per day of
    orders placed in the last ``days`` days; also the cost currencies without a rate (left out)."""
    now = now or timezone.now()
    first = (now - timedelta(days=days - 1)).date()
    rows = (
        Order.objects.filter(created_at__date__gte=first)
        .exclude(status=S.FAILED)
        .annotate(day=TruncDate("created_at"))
        .values("day", "cost_currency")
        .annotate(revenue=Sum(F("charge") - F("refunded")), cost=Sum("cost"))
    )
    rates, unknown = _rates(), set()
    by_day = {
        first + timedelta(days=n): Day(first + timedelta(days=n), Decimal(0), Decimal(0)) for n in range(days)
    }
    for row in rows:
        entry = by_day.get(row["day"])
        if entry is None:
            continue
        entry.revenue += row["revenue"] or 0
        if row["cost"] is not None:
            if row["cost_currency"] in rates:
                entry.cost += to_money(row["cost"] * rates[row["cost_currency"]])
            else:
                unknown.add(row["cost_currency"])
    return list(by_day.values()), sorted(unknown)


def orders_by_status() -> list[tuple[str, int]]:
    counts = dict(Order.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return [(label, counts.get(value, 0)) for value, label in S.choices]


def top_services(*, days: int = 30, limit: int = 10, now=None) -> list[dict]:
    since = (now or timezone.now()) - timedelta(days=days)
    return list(
        Order.objects.filter(created_at__gte=since)
        .exclude(status=S.FAILED)
        .values("service_id", "service__name")
        .annotate(revenue=Sum(F("charge") - F("refunded")), orders=Count("pk"))
        .order_by("-revenue", "service_id")[:limit]
    )


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
    return Balances(customers=total, providers=providers)


def _last_ok(kind: str):
    from django.db.models import OuterRef, Subquery

    runs = SyncRun.objects.filter(provider=OuterRef("pk"), kind=kind, ok=True)
    return Subquery(runs.order_by("-finished_at").values("finished_at")[:1])


def provider_health(*, days: int = 30, now=None) -> list[Provider]:
    """Per provider: error rate of the last 24 h, share of partial and canceled among finished orders and
    average time from sending to completion over ``days`` days, and the last successful syncs."""
    since = (now or timezone.now()) - timedelta(days=days)
    recent = Q(orders__created_at__gte=since)
    providers = list(
        providers_with_health()
        .annotate(
            # distinct: the services counted by providers_with_health multiply the joined rows.
            finished=Count("orders", filter=recent & Q(orders__status__in=FINISHED), distinct=True),
            partials=Count("orders", filter=recent & Q(orders__status=S.PARTIAL), distinct=True),
            cancels=Count("orders", filter=recent & Q(orders__status=S.CANCELED), distinct=True),
            completion=Avg(
                ExpressionWrapper(
                    F("orders__finished_at") - F("orders__sent_at"), output_field=DurationField()
                ),
                filter=recent & Q(orders__status=S.COMPLETED),
            ),
            last_ok_status_sync=_last_ok(SyncRun.Kind.STATUS),
            last_ok_catalogue_sync=_last_ok(SyncRun.Kind.CATALOGUE),
            last_ok_balance_sync=_last_ok(SyncRun.Kind.BALANCE),
        )
        .order_by("name")
    )
    for provider in providers:
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
    return providers
