"""Lists of a long history read from the index that serves them (issue 13): PostgreSQL's plans for a
customer's order list — storefront, REST, the admin's list of one customer — and the review queue, on a table
big enough for the planner to choose."""

import pytest
from django.contrib.auth.models import User
from django.db import connection

from billing.services import account_for
from orders.models import Order, OrderEvent, Refill
from orders.selectors import orders_needing_review, orders_of
from reseller.paging import EstimatedCountPaginator, page_without_count

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]


@pytest.fixture
def history(placed):
    """2,000 orders of ``placed``'s customer and 20,000 of another, copied from one in one statement."""
    order = placed(Order.Status.COMPLETED)
    other = User.objects.create_user("other")
    columns = [f.column for f in Order._meta.concrete_fields if not f.primary_key and f.column != "user_id"]
    copied = ", ".join(
        "NULL"
        if column == "provider_order_id"
        else f"o.{column} - g * interval '1 minute'"
        if column == "created_at"
        else f"o.{column}"
        for column in columns
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO orders_order (user_id, {', '.join(columns)}) "  # noqa: S608 - no outside text
            f"SELECT CASE WHEN g %% 11 = 0 THEN o.user_id ELSE %s END, {copied} "
            "FROM orders_order o, generate_series(1, 22000) g WHERE o.id = %s",
            [other.pk, order.pk],
        )
        cursor.execute("ANALYZE orders_order")
    return order.user


def plan(queryset, *, sorting: bool = True) -> str:
    """PostgreSQL's plan; without ``sorting``, one that reads the rows in the list's order, if it can."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if not sorting:
            cursor.execute(
                "SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off; "
                "SET LOCAL enable_bitmapscan = off"
            )
        cursor.execute(f"EXPLAIN {sql}", params)
        shown = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_sort; RESET enable_incremental_sort; RESET enable_bitmapscan")
    return shown


def test_a_customers_pages_are_read_from_its_index_not_the_table(history):
    """At a test's size the planner may as well sort a customer's 2,000 rows (at a million it reads the
    index: bench/README.md); what is checked is that an index serves the filter and the order, no sort."""
    listed = orders_of(history).select_related("service")
    page_60 = listed.values("pk")[60 * 25 : 60 * 25 + 26]
    for queryset in [
        listed.filter(pk__in=page_60),  # the storefront's page 60 (page_without_count)
        listed.filter(pk__in=listed.filter(status="completed").values("pk")[:26]),  # a tab
        listed.order_by("-created_at", "-id")[:51],  # the REST list's first page
        Order.objects.filter(user=history).order_by("-created_at", "-pk")[:100],  # the admin's
    ]:
        shown = plan(queryset, sorting=False)
        assert "order_customer_list" in shown and "Seq Scan on orders_order" not in shown, shown
        assert "Sort Key: u0" not in shown and "Incremental Sort" not in shown, shown
    page = page_without_count(listed, "60", per_page=25)
    assert len(page.object_list) == 25 and page.has_next() and page.has_previous()
    assert page.object_list == list(listed[59 * 25 : 60 * 25])


def test_the_review_queue_reads_its_rules_from_indexes(history):
    shown = plan(orders_needing_review())
    assert "BitmapOr" in shown and "Seq Scan on orders_order" not in shown, shown


def test_a_big_list_is_numbered_from_the_planners_estimate_a_small_one_counted(history):
    everything = EstimatedCountPaginator(Order.objects.order_by("-pk"), 100)
    assert 15_000 < everything.count < 30_000  # the estimate (22,001 rows)
    few = Order.objects.filter(user__username="other", pk__lt=0)
    assert EstimatedCountPaginator(few, 100).count == 0
    assert EstimatedCountPaginator(Order.objects.filter(pk__in=[]), 100).count == 0


def test_the_other_histories_are_read_newest_first_from_their_indexes(history):
    """The REST refills and ledger (by cursor), the website's (by offset) and the admin's events: an index
    gives each list's order, so a page never sorts the whole history."""
    for queryset, index in [
        (
            Refill.objects.filter(order__user=history).order_by("-created_at", "-id")[:51],
            "refill_newest_first",
        ),
        (account_for(history).ledger.order_by("-created_at", "-id")[:51], "ledger_account_newest"),
        (OrderEvent.objects.order_by("-created_at", "-pk")[:100], "orderevent_newest_first"),
    ]:
        shown = plan(queryset, sorting=False)
        assert index in shown and "Sort Key" not in shown, shown
