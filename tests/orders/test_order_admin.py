"""Orders in the admin: the operator resolves orders whose outcome is unknown, lists the review queue's orders,
and reads every order's events (read-only)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Profile
from orders.models import Order, OrderEvent
from orders.order_types import dripfeed_allowed
from orders.services import order_place, order_submit
from tests.console.support import forms_of
from tests.orders.support import service_of
from tests.staff import staff

S = Order.Status


@pytest.fixture
def order_in_review(shop, customer):
    server, provider = shop()
    service = service_of(provider, "Default", refill=True)
    server.sim.set_fault("http_500", action="add", times=1)  # placed upstream, answer lost
    order = order_place(
        user=customer, service=service, data={"link": "https://x.example/r", "quantity": "100"}
    )
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.NEEDS_REVIEW
    return server, order


def test_attach_the_provider_id_found_upstream(operator_client, order_in_review):
    server, order = order_in_review
    page = operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Attach the provider" in page
    assert "may exist at the provider" in page  # the history says why

    url = reverse("admin:orders_order_attach", args=[order.pk])
    response = operator_client.post(url, {"provider_order_id": server.sim.orders()[0].id})

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.provider_order_id) == (S.PENDING, server.sim.orders()[0].id)
    again = operator_client.post(url, {"provider_order_id": "123"})
    assert "cannot go from Pending" in again.content.decode()


def run_action(client, action, order):
    """Post the action, confirming that the provider was checked, as its form asks."""
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": action, "_selected_action": [order.pk], "confirmed": "1", "checked": "on"},
        follow=True,
    )
    return [str(message) for message in response.context["messages"]]


def test_resend_and_refund_ask_whether_the_provider_was_checked(operator_client, order_in_review):
    _, order = order_in_review
    changelist = reverse("admin:orders_order_changelist")
    for action in ["resend", "refund"]:
        page = operator_client.post(changelist, {"action": action, "_selected_action": [order.pk]})
        assert b"pays for it twice" in page.content or b"charges you" in page.content
        unticked = operator_client.post(
            changelist, {"action": action, "_selected_action": [order.pk], "confirmed": "1"}
        )
        assert b"This field is required" in unticked.content
        order.refresh_from_db()
        assert order.status == S.NEEDS_REVIEW and order.refunded == 0


def test_resend_and_refund_actions(operator_client, order_in_review, monkeypatch):
    _, order = order_in_review
    monkeypatch.setattr("orders.tasks.dispatch_orders.apply_async", lambda *args, **kwargs: None)

    assert run_action(operator_client, "refund", order) == [f"Order #{order.pk}: refunded."]
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.FAILED, order.charge)
    [message] = run_action(operator_client, "resend", order)
    assert "cannot go from Failed" in message


def test_orders_are_read_only_and_searchable(operator_client, order_in_review):
    _, order = order_in_review
    changelist = reverse("admin:orders_order_changelist")
    assert operator_client.get(changelist, {"status__exact": "needs_review"}).status_code == 200
    assert f">{order.pk}<" in operator_client.get(changelist, {"q": "x.example/r"}).content.decode()
    page = operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'name="_save"' not in page


def test_the_operator_switches_drip_feed_on_the_service_page(operator_client, shop):
    _, provider = shop()
    service = service_of(provider, "Default", refill=True)
    url = reverse("admin:catalogue_service_change", args=[service.pk])
    page = operator_client.get(url)
    assert 'name="dripfeed"' in page.content.decode()
    # The page's form as a browser sends it, its routes inline included.
    (fields, _), *_ = [form for form in forms_of(page.content.decode()) if ("dripfeed", "") in form[0]]
    data = dict(fields)
    data["dripfeed"] = "off"

    response = operator_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert service.dripfeed == "off" and not dripfeed_allowed(service)


def test_order_list_filters_the_review_queue(client, placed):
    unknown = placed(S.NEEDS_REVIEW)
    waiting = placed(S.WAITING, age=timedelta(hours=2))
    placed(S.WAITING)  # not for long: not in the queue
    placed(S.COMPLETED, age=timedelta(days=1))
    staff(client, "sue", "Support")
    response = client.get("/admin/orders/order/", {"needs_review": "yes"})
    assert {order.pk for order in response.context["cl"].result_list} == {unknown.pk, waiting.pk}
    assert "In the review queue" in response.content.decode()


def assert_lists_read_no_more_as_orders_grow(client, placed, paths, *, listed=None) -> None:
    """Each of ``paths`` (admin lists) costs the same queries with five more orders, none of them
    ``DISTINCT`` (a filter's choices read from the table) and no count of the whole table; ``listed``, when
    given, is in each list."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, path
        assert not response.context["cl"].show_full_result_count, path
        if listed is not None:
            assert listed.pk in {row.pk for row in response.context["cl"].result_list}, path
        assert not [query for query in captured if "DISTINCT" in query["sql"].upper()], path
        return len(captured)

    client.get(paths[0])  # the branding read once and cached
    before = {path: queries(path) for path in paths}
    for _ in range(5):
        placed(S.COMPLETED)
    assert {path: queries(path) for path in paths} == before


def test_the_order_list_reads_no_more_as_the_orders_grow(client, placed):
    """Issue 13: the filters offered no longer read the orders for their choices (distinct services,
    customers, types, dates), and each view of the list costs the same queries however many orders."""
    first = placed(S.COMPLETED)
    staff(client, "olive", "Owner")
    paths = [
        "/admin/orders/order/",
        "/admin/orders/order/?status__exact=completed",
        f"/admin/orders/order/?user__id__exact={first.user_id}",
        f"/admin/orders/order/?service__id__exact={first.service_id}",
        "/admin/orders/order/?type=Default",
        "/admin/orders/order/?created_at_from_0=2020-01-01&created_at_from_1=00:00",
    ]
    assert_lists_read_no_more_as_orders_grow(client, placed, paths, listed=first)
    page = client.get(paths[0]).content.decode()
    assert "Subscriptions" in page and "Custom Comments" in page  # the known types, none read


def test_the_order_events_and_the_ledger_read_no_more_as_the_history_grows(client, placed):
    """Issue 13: as the order list, the events' and the ledger's lists offer no filter that reads the table
    for its choices (no date hierarchy, no distinct statuses or actors) and cost the same queries however
    long the history."""
    first = placed(S.COMPLETED)
    staff(client, "olive", "Owner")
    paths = [
        "/admin/orders/orderevent/",
        "/admin/orders/orderevent/?to_status=completed",
        f"/admin/orders/orderevent/?actor__id__exact={first.user_id}",
        "/admin/orders/orderevent/?created_at_from_0=2020-01-01&created_at_from_1=00:00",
        "/admin/billing/ledgerentry/",
        "/admin/billing/ledgerentry/?kind__exact=charge",
        "/admin/billing/ledgerentry/?created_at_from_0=2020-01-01&created_at_from_1=00:00",
    ]
    assert_lists_read_no_more_as_orders_grow(client, placed, paths)
    OrderEvent.objects.create(order=first, from_status=S.PENDING, to_status=S.COMPLETED, message="Done.")
    OrderEvent.objects.create(order=first, to_status=S.PENDING, message="Placed.")
    events = client.get("/admin/orders/orderevent/?to_status=completed").context["cl"].result_list
    assert [event.to_status for event in events] == [S.COMPLETED]


def test_the_date_range_filters_read_times_in_the_operators_time_zone(client, placed):
    """Times on the console are the operator's own: a from-to range typed in Tokyo is Tokyo's, not UTC's."""
    order = placed(S.COMPLETED)
    # 23:30 UTC on 1 January is 08:30 in Tokyo on the 2nd.
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 1, 1, 23, 30, tzinfo=UTC))
    olive = staff(client, "olive", "Owner")
    Profile.objects.update_or_create(user=olive, defaults={"timezone": "Asia/Tokyo"})

    def listed(start: str, end: str, path="/admin/orders/order/") -> bool:
        day_from, time_from = start.split()
        day_to, time_to = end.split()
        query = {"created_at_from_0": day_from, "created_at_from_1": time_from}
        query |= {"created_at_to_0": day_to, "created_at_to_1": time_to}
        return order.pk in {row.pk for row in client.get(path, query).context["cl"].result_list}

    assert listed("2026-01-02 08:00", "2026-01-02 09:00")
    assert not listed("2026-01-01 23:00", "2026-01-02 00:00")  # the hour in UTC, not in Tokyo
    # The first and last days of the calendar overflow in UTC from some zones: the list is left unfiltered.
    assert listed("0001-01-01 00:00", "0001-01-01 00:01")


def test_order_events_are_searchable_and_read_only(client, placed):
    order = placed(S.NEEDS_REVIEW)
    staff(client, "sue", "Support")
    response = client.get("/admin/orders/orderevent/", {"q": str(order.pk)})
    events = list(response.context["cl"].result_list)
    assert events and {event.order_id for event in events} == {order.pk}
    event = events[0]
    page = client.get(f"/admin/orders/orderevent/{event.pk}/change/").content.decode()
    # The operator's line may name the provider: Support reads the customer's.
    assert 'name="message"' not in page and event.public_message in page and event.message not in page
    assert client.post(f"/admin/orders/orderevent/{event.pk}/delete/").status_code == 403


def test_only_an_order_of_unknown_outcome_offers_attaching_the_providers_id(operator_client, placed):
    unknown, sent = placed(S.NEEDS_REVIEW), placed(S.PENDING)

    def page(order):
        return operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    attach = "Attach the provider's order id"
    assert attach in page(unknown) and attach not in page(sent)


def test_the_order_list_works_out_its_column_headers_once_however_many_rows(client, placed, monkeypatch):
    """django-unfold labels every cell with the column headers, which it worked out again for each row
    (console/apps.py): with 100 rows a page, most of the page's time."""
    from django.contrib.admin.utils import label_for_field
    from unfold.templatetags import unfold_list

    labelled = []

    def counted(*args, **kwargs):
        labelled.append(args[0])
        return label_for_field(*args, **kwargs)

    monkeypatch.setattr(unfold_list, "label_for_field", counted)
    staff(client, "olive", "Owner")
    for _ in range(3):
        placed(S.COMPLETED)
    response = client.get("/admin/orders/order/")
    assert len(response.context["cl"].result_list) == 3
    columns = len(response.context["cl"].list_display)
    assert len(labelled) == columns  # once per column, not once per column and row


def test_the_row_checkboxes_are_unfolds_drawn_once_however_many_rows(client, placed, monkeypatch):
    """django-unfold drew each row's checkbox through the form renderer (console/apps.py): the same markup
    now, drawn once per language."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from unfold import admin as unfold_admin

    unfold_checkbox = unfold_admin.checkbox.render
    drawn = []
    monkeypatch.setattr(
        unfold_admin.checkbox, "render", lambda *args, **kwargs: drawn.append(args) or unfold_checkbox(*args)
    )
    staff(client, "olive", "Owner")
    orders = [placed(S.COMPLETED) for _ in range(3)]
    page = client.get("/admin/orders/order/").content.decode()
    assert len(drawn) <= 1  # none when an earlier page of this process drew it
    for order in orders:
        assert unfold_checkbox(ACTION_CHECKBOX_NAME, str(order.pk)) in page
