"""What a drip-feed or a subscription order shows its customer beyond the status: read from the fields the
order was sent with and the figures the provider reports (no extra columns)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from orders.models import Order
from orders.order_types import ORDER_TYPES
from panels.normalize import ServiceType


def is_package(kind: str) -> bool:
    """Priced per package (the rate is the price of one), not per 1000."""
    try:
        return ORDER_TYPES[ServiceType(kind)].package
    except (ValueError, KeyError):
        return False


@dataclass(frozen=True)
class DripFeed:
    runs: int
    runs_done: int
    interval_minutes: int | None
    next_run_at: datetime | None  # estimated from when it was sent: None once over or not yet sent


def drip_feed(order: Order) -> DripFeed | None:
    """Runs done as the provider's remains tell them (each run delivers ``units / runs``), and the next run
    estimated from when it was sent and the interval."""
    if not order.runs:
        return None
    per_run = max(order.units // order.runs, 1)
    delivered = order.units - order.remains_shown
    done = min(max(delivered // per_run, 0), order.runs)
    interval = _whole(order.fields.get("interval"))
    next_run = None
    if order.sent_at and interval and done < order.runs and order.status not in Order.states.final:
        next_run = order.sent_at + timedelta(minutes=interval * done)
    return DripFeed(runs=order.runs, runs_done=done, interval_minutes=interval, next_run_at=next_run)


@dataclass(frozen=True)
class Subscription:
    posts: int | None
    old_posts: int | None
    low: int | None
    high: int | None
    delay_minutes: int | None
    expiry: date | None


def subscription(order: Order) -> Subscription | None:
    """The terms the subscription was bought with (as sent to the provider)."""
    if not order.is_subscription:
        return None
    fields = order.fields
    expiry = None
    if fields.get("expiry"):
        try:
            expiry = datetime.strptime(fields["expiry"], "%d/%m/%Y").date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            expiry = None
    return Subscription(
        posts=_whole(fields.get("posts")),
        old_posts=_whole(fields.get("old_posts")),
        low=_whole(fields.get("min")),
        high=_whole(fields.get("max")),
        delay_minutes=_whole(fields.get("delay")),
        expiry=expiry,
    )


def _whole(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
