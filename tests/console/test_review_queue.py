"""The review queue: which orders and refills wait for an operator and why, its actions, its long-list page."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from billing.services import account_for
from console import selectors
from orders.models import Order, Refill
from orders.services import order_submit
from tests.orders.support import settle
from tests.staff import staff

pytestmark = pytest.mark.django_db
S = Order.Status


def test_review_queue_lists_unknown_and_stuck_orders_with_what_to_check(client, placed):
    unknown = placed(S.NEEDS_REVIEW, wait_reason="Timed out")
    queued = placed(S.QUEUED, age=timedelta(minutes=30))
    waiting = placed(S.WAITING, age=timedelta(hours=2), wait_reason="The provider is out of funds.")
    sending = placed(S.SENDING, sending_since=timezone.now() - timedelta(hours=1))
    cancel = placed(
        S.IN_PROGRESS, provider_order_id="77", cancel_requested_at=timezone.now() - timedelta(hours=3)
    )
    placed(S.QUEUED)  # fresh: not stuck
    placed(S.COMPLETED, age=timedelta(days=1))

    entries = {entry.order.pk: entry for entry in selectors.review_queue()}
    assert set(entries) == {unknown.pk, queued.pk, waiting.pk, sending.pk, cancel.pk}
    assert entries[unknown.pk].reason == "unknown" and "attach its order id" in entries[unknown.pk].check
    assert entries[waiting.pk].check.endswith("The provider is out of funds.")
    assert entries[cancel.pk].reason == "cancel"

    staff(client, "sue", "Support")
    page = client.get("/admin/console/review/").content.decode()
    assert "Needs review (5)" in page and f"/admin/orders/order/{unknown.pk}/attach/" in page
    assert "5</strong> waiting for an operator" in client.get("/admin/").content.decode()


def test_queue_actions_resolve_orders(client, placed):
    unknown = placed(S.NEEDS_REVIEW)
    waiting = placed(S.WAITING, age=timedelta(hours=2))
    staff(client, "sue", "Support")

    # Marking needs a note form first, then takes the order off the queue; an unknown outcome cannot be waved off.
    form = client.post("/admin/orders/order/", {"action": "mark_resolved", "_selected_action": [waiting.pk]})
    assert b"What you checked" in form.content
    client.post(
        "/admin/orders/order/",
        {
            "action": "mark_resolved",
            "_selected_action": [waiting.pk, unknown.pk],
            "confirmed": "1",
            "note": "Topped up the provider",
        },
    )
    assert {entry.order.pk for entry in selectors.review_queue()} == {unknown.pk}
    assert "Topped up the provider" in Order.objects.get(pk=waiting.pk).events.last().message
    assert Order.objects.get(pk=unknown.pk).review_resolved_at is None

    # Refunding moves a balance: Support gets no button, and a hand-made POST refunds nothing.
    balance = account_for(unknown.user).balance
    refund = {"action": "refund", "_selected_action": [unknown.pk], "confirmed": "1", "checked": "on"}
    assert 'value="refund"' not in client.get("/admin/console/review/").content.decode()
    client.post("/admin/orders/order/", refund)
    assert Order.objects.get(pk=unknown.pk).status == S.NEEDS_REVIEW
    assert account_for(unknown.user).balance == balance

    staff(client, "olive", "Owner")
    assert 'value="refund"' in client.get("/admin/console/review/").content.decode()
    client.post("/admin/orders/order/", refund)
    assert Order.objects.get(pk=unknown.pk).status == S.FAILED
    assert account_for(unknown.user).balance == balance + unknown.charge
    assert selectors.review_queue() == []


def test_support_settles_nothing_and_the_services_refuse_its_refunds(client, placed):
    """One rule (``console.roles.moves_money``) for every refund by hand: the admin offers Support none,
    and the services refuse one asked for in Support's name anyway."""
    from orders.services import (
        order_cancel_placed,
        order_fail_and_refund,
        order_finish,
        order_settle_undelivered,
    )

    unsettled = placed(S.IN_PROGRESS, provider_order_id="5", figures_missing_since=timezone.now())
    unknown = placed(S.NEEDS_REVIEW)
    support = staff(client, "sue", "Support")
    page = client.get("/admin/console/review/").content.decode()
    assert 'value="settle"' not in page and "Settling refunds: the Owner's." in page
    settle_form = {
        "action": "settle",
        "_selected_action": [unsettled.pk],
        "confirmed": "1",
        "undelivered": "0",
    }
    client.post("/admin/orders/order/", settle_form)
    assert Order.objects.get(pk=unsettled.pk).status == S.IN_PROGRESS

    balance = account_for(unknown.user).balance
    for refund in [
        lambda: order_fail_and_refund(order=unknown, actor=support, reason="x"),
        lambda: order_settle_undelivered(order=unsettled, undelivered=10, actor=support),
        lambda: order_finish(order=unsettled, undelivered=10, actor=support),
        lambda: order_cancel_placed(order=unsettled, actor=support, provider_checked=True),
    ]:
        with pytest.raises(PermissionDenied):
            refund()
    assert account_for(unknown.user).balance == balance
    assert Order.objects.get(pk=unsettled.pk).status == S.IN_PROGRESS

    staff(client, "olive", "Owner")
    assert 'value="settle"' in client.get("/admin/console/review/").content.decode()
    client.post("/admin/orders/order/", settle_form)
    assert Order.objects.get(pk=unsettled.pk).status == S.COMPLETED


@pytest.fixture
def lost_refill(placed):
    """A refill the provider accepted whose answer was lost (HTTP 500 after processing): outcome unknown."""
    from orders.refills import refill_request, refill_send

    order = placed()
    order_submit(order_id=order.pk)
    order = settle(placed.server, placed.provider, order)
    assert order.status == S.COMPLETED
    refill = refill_request(order=order)
    placed.server.sim.set_fault("http_500", action="refill", times=1)
    refill_send(refill_id=refill.pk)
    refill.refresh_from_db()
    assert refill.status == Refill.Status.NEEDS_REVIEW
    return refill


def test_refills_of_unknown_outcome_are_in_the_queue_and_attached(client, placed, lost_refill):
    from orders.refills import refills_sync_statuses

    staff(client, "sue", "Support")  # resolving reviews is support's work
    page = client.get("/admin/console/review/").content.decode()
    assert "Needs review (1)" in page and 'id="review-refills"' in page
    # Support works the queue without learning the provider's ids (the Owner's page quotes them).
    assert "look in the provider&#x27;s refills for its order #…" in page
    assert lost_refill.order.provider_order_id not in page
    assert "1</strong> waiting for an operator" in client.get("/admin/").content.decode()

    attach = {"action": "attach", "_selected_action": [lost_refill.pk]}
    asked = client.post("/admin/orders/refill/", attach).content.decode()
    assert "The provider&#x27;s refill id" in asked
    (upstream,) = placed.server.sim.refills()  # what the operator finds in the provider's panel
    client.post(
        "/admin/orders/refill/", {**attach, "confirmed": "1", "provider_refill_id": f" {upstream.id} "}
    )
    lost_refill.refresh_from_db()
    assert lost_refill.status == Refill.Status.PENDING and lost_refill.provider_refill_id == upstream.id
    assert "Nothing needs an operator" in client.get("/admin/console/review/").content.decode()
    event = lost_refill.order.events.latest("pk")
    assert event.actor.username == "sue" and f"refill #{upstream.id} attached" in event.message

    placed.server.sim.advance(3)
    assert refills_sync_statuses(provider=placed.provider) == 1  # followed at the provider from now on
    lost_refill.refresh_from_db()
    assert lost_refill.status == Refill.Status.COMPLETED
    assert len(placed.server.sim.refills()) == 1  # never asked twice

    again = {**attach, "confirmed": "1", "provider_refill_id": "9"}
    page = client.post("/admin/orders/refill/", again, follow=True).content.decode()
    assert f"Refill #{lost_refill.pk}: Completed, not in review." in page
    lost_refill.refresh_from_db()
    assert lost_refill.provider_refill_id == upstream.id


def test_a_refill_the_provider_never_got_is_closed_and_can_be_asked_again(client, placed, lost_refill):
    from orders.refills import refill_request

    staff(client, "sue", "Support")
    close = {"action": "close", "_selected_action": [lost_refill.pk]}
    unconfirmed = client.post("/admin/orders/refill/", {**close, "confirmed": "1"}).content.decode()
    assert "This field is required" in unconfirmed
    client.post("/admin/orders/refill/", {**close, "confirmed": "1", "checked": "on", "note": "not there"})
    lost_refill.refresh_from_db()
    assert lost_refill.status == Refill.Status.REJECTED and lost_refill.public_status == "Rejected"
    assert "the provider has no such refill. not there" in lost_refill.message
    assert refill_request(order=lost_refill.order).status == Refill.Status.REQUESTED


def test_a_resolved_order_returns_when_it_gets_stuck_again(placed):
    from orders.services import order_mark_resolved
    from reseller.states import transition

    order = placed(S.QUEUED, age=timedelta(hours=1))
    order_mark_resolved(order=order, actor=None)
    assert selectors.review_queue() == []
    transition(order, S.WAITING, message="out of funds again")
    assert [entry.order.pk for entry in selectors.review_queue()] == [order.pk]


def test_a_long_queue_shows_the_oldest_and_leads_to_the_rest(client, placed, monkeypatch):
    monkeypatch.setattr("console.views.REVIEW_PAGE_SIZE", 2)
    oldest = [placed(S.NEEDS_REVIEW, age=timedelta(hours=5 - n)) for n in range(4)]
    # One open refill per order, the unknown outcome included.
    refills = [Refill.objects.create(order=order, status=Refill.Status.NEEDS_REVIEW) for order in oldest[:3]]
    staff(client, "sue", "Support")
    response = client.get("/admin/console/review/")
    assert [entry.order for entry in response.context["entries"]] == oldest[:2]
    assert [entry.refill for entry in response.context["refills"]] == refills[:2]
    page = response.content.decode()
    assert "Needs review (7)" in page and "The 2 oldest of 4 orders are shown here" in page
    assert "/admin/orders/order/?needs_review=yes" in page
    assert (
        "The 2 oldest of 3 are shown here" in page
        and "/admin/orders/refill/?status__exact=needs_review" in page
    )
