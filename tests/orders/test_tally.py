"""The dashboard's tally (``orders.tally``): however the orders are written — saved, updated in bulk, by raw
SQL, deleted — the figures read from the tally equal the ones added up from the orders themselves, before any
fold, between folds and after."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from console import selectors
from orders.models import Order, OrderTally, OrderTallyChange
from orders.tally import KEY, MEASURES, TRIGGERS, tally, tally_fold

pytestmark = pytest.mark.django_db
S = Order.Status


def from_orders(since) -> dict[tuple, tuple]:
    """Each group's figures added up from the orders (the dashboard's way before the tally)."""
    rows = (
        Order.objects.filter(created_at__date__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values(*KEY)
        .annotate(
            n_orders=Count("pk"),
            n_revenue=Sum(F("charge") - F("refunded")),
            n_cost=Sum("cost"),
            n_costed=Count("cost"),
            n_completion=Sum(
                ExpressionWrapper(F("finished_at") - F("sent_at"), output_field=DurationField())
            ),
            n_timed=Count("pk", filter=Q(finished_at__isnull=False, sent_at__isnull=False)),
        )
        .order_by()
    )
    return {
        tuple(row[name] for name in KEY): tuple(row[f"n_{name}"] or 0 for name in MEASURES) for row in rows
    }


def from_tally(since) -> dict[tuple, tuple]:
    return {
        key: tuple(getattr(figures, name) or 0 for name in MEASURES)
        for key, figures in tally(*KEY, since=since).items()
        if figures.orders  # a group every order left: all zero
    }


def test_the_triggers_that_feed_the_tally_are_there():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders_order'::regclass")
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders_order'"
            )
        assert set(TRIGGERS) <= {row[0] for row in cursor.fetchall()}


def test_the_tally_equals_the_orders_whatever_writes_them(placed, shop):
    """Random writes of every kind, folded at random moments: the tally (folded rows plus changes not folded
    yet) always equals the sums over the orders, and so do the dashboard's figures."""
    _, cool = shop("smmcool")
    other = placed.service.__class__.objects.filter(provider_service__provider=cool).first()
    rng = random.Random(13)
    now = timezone.now()
    since = (now - timedelta(days=40)).date()
    statuses = list(S)
    orders = [placed(S.QUEUED, age=timedelta(days=rng.randrange(45))) for _ in range(12)]
    for step in range(60):
        order = rng.choice(orders)
        kind = rng.randrange(7)
        if kind == 0:  # a move, with the provider's figures, as the status core writes them
            status = rng.choice(statuses)
            order.status = status
            order.sent_at = now - timedelta(hours=rng.randrange(1, 100))
            order.finished_at = (
                order.sent_at + timedelta(minutes=rng.randrange(1, 600))
                if status in Order.states.final
                else None
            )
            order.save(update_fields=["status", "sent_at", "finished_at"])
        elif kind == 1:  # a refund
            Order.objects.filter(pk=order.pk).update(refunded=min(order.charge, Decimal("0.0125")))
        elif kind == 2:  # the provider's cost, in one currency or another (or unknown)
            cost = rng.choice([None, Decimal("0.01234567"), Decimal("2")])
            Order.objects.filter(pk=order.pk).update(cost=cost, cost_currency=rng.choice(["USD", "EUR", ""]))
        elif kind == 3:  # a bulk update of many orders in one statement, as the status sync writes
            Order.objects.filter(pk__in=[o.pk for o in rng.sample(orders, 5)]).update(
                status=rng.choice(statuses), last_synced_at=now
            )
        elif kind == 4:  # raw SQL, moving an order to another day and service
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE orders_order SET created_at = %s, service_id = %s WHERE id = %s",
                    [
                        now - timedelta(days=rng.randrange(45)),
                        rng.choice([placed.service.pk, other.pk]),
                        order.pk,
                    ],
                )
        elif kind == 5:  # a column the figures do not depend on: no change is written
            changes = OrderTallyChange.objects.count()
            Order.objects.filter(pk=order.pk).update(remains=rng.randrange(100), last_synced_at=now)
            assert OrderTallyChange.objects.count() == changes
        elif kind == 6 and step % 20 == 6:  # now and then an order is deleted (its events first)
            order.events.all().delete()
            order.delete()
            orders.remove(order)
        if rng.random() < 0.3:
            tally_fold(chunk=rng.choice([1, 3, 1000]))
        assert from_tally(since) == from_orders(since), step
    tally_fold()
    assert not OrderTallyChange.objects.exists()
    assert from_tally(since) == from_orders(since)
    assert from_tally(None) == from_orders(since - timedelta(days=1000))

    # The dashboard's figures, against the orders.
    first = selectors.period_start(days=30)
    counts = dict(Order.objects.values_list("status").annotate(n=Count("pk")))
    assert selectors.orders_by_status() == [(label, counts.get(value, 0)) for value, label in S.choices]
    days, _ = selectors.money_by_day(days=30)
    recent = Order.objects.filter(created_at__date__gte=first).exclude(status=S.FAILED)
    revenue = recent.aggregate(total=Sum(F("charge") - F("refunded")))["total"] or 0
    assert sum(day.revenue for day in days) == revenue
    top = {row["service_id"]: (row["revenue"], row["orders"]) for row in selectors.top_services(days=30)}
    for service_id, (service_revenue, count) in top.items():
        mine = recent.filter(service_id=service_id)
        assert count == mine.count()
        assert service_revenue == mine.aggregate(total=Sum(F("charge") - F("refunded")))["total"]


def test_a_fold_empties_the_changes_and_keeps_no_empty_groups(placed):
    order = placed(S.QUEUED)
    assert OrderTallyChange.objects.exists()
    tally_fold()
    assert not OrderTallyChange.objects.exists()
    for status in [S.PENDING, S.IN_PROGRESS, S.COMPLETED]:  # the order leaves each group it was in
        Order.objects.filter(pk=order.pk).update(status=status)
        tally_fold()
    assert list(OrderTally.objects.values_list("status", "orders")) == [(S.COMPLETED, 1)]
