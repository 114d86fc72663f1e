"""Refill and cancel, end to end against the simulator."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.services import api_key_issue
from billing.models import LedgerEntry
from billing.services import account_for, ledger_audit
from orders.models import Order, Refill
from orders.refills import (
    BEING_CHECKED,
    UNDER_WAY,
    refill_attach_provider_id,
    refill_close,
    refill_refusal,
    refill_request,
    refill_send,
    refills_sync_statuses,
)
from orders.services import order_cancel, order_cancel_send, order_place, order_submit
from tests.orders.support import service_of, settle

D = Decimal
S = Order.Status


@pytest.fixture
def sent_order(shop, customer):
    def make(link="https://x.example/o", type_name="Default", **flags):
        server, provider = shop()
        service = service_of(provider, type_name, **flags)
        order = order_place(
            user=customer, service=service, data={"link": link, "quantity": str(service.min_quantity)}
        )
        order_submit(order_id=order.pk)
        order.refresh_from_db()
        return server, provider, order

    return make


def test_refill_of_a_completed_order_goes_through(sent_order):
    server, provider, order = sent_order(refill=True)
    settle(server, provider, order)

    refill = refill_request(order=order)
    refill_send(refill_id=refill.pk)
    refill.refresh_from_db()
    assert refill.status == Refill.Status.PENDING
    assert refill.provider_refill_id

    server.sim.advance(3)
    assert refills_sync_statuses(provider=provider) == 1
    refill.refresh_from_db()
    assert refill.status == Refill.Status.COMPLETED
    assert "Refill: The provider reports Completed." in [event.message for event in order.events.all()]


def test_a_rejected_refill(sent_order):
    server, provider, order = sent_order(link="https://x.example/reject", refill=True)
    settle(server, provider, order)
    refill = refill_request(order=order)
    refill_send(refill_id=refill.pk)
    server.sim.advance(3)
    refills_sync_statuses(provider=provider)
    refill.refresh_from_db()
    assert refill.status == Refill.Status.REJECTED


def test_refill_rules(sent_order):
    server, provider, order = sent_order(refill=True)
    with pytest.raises(ValidationError, match="Only completed orders"):
        refill_request(order=order)
    settle(server, provider, order)
    refill_request(order=order)
    with pytest.raises(ValidationError, match="already under way"):
        refill_request(order=order)
    Order.objects.filter(pk=order.pk).update(finished_at=timezone.now() - timedelta(days=31))
    order.refresh_from_db()
    Refill.objects.update(status=Refill.Status.COMPLETED)
    with pytest.raises(ValidationError, match="window of 30 days"):
        refill_request(order=order)


def test_no_refill_where_the_service_has_none(sent_order):
    server, provider, order = sent_order(refill=False)
    settle(server, provider, order)
    with pytest.raises(ValidationError, match="no refill"):
        refill_request(order=order)


def test_cancel_before_sending_refunds_everything(shop, customer):
    _, provider = shop()
    service = service_of(provider, "Default", refill=True)
    order = order_place(
        user=customer, service=service, data={"link": "https://x.example/c", "quantity": "100"}
    )

    assert order_cancel(order=order) == "Canceled and refunded."

    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.CANCELED, order.charge)
    assert order_submit(order_id=order.pk) is None  # a queued task finds nothing to send
    assert account_for(customer).balance == D("100")


def test_cancel_upstream_refunds_only_when_the_provider_confirms(sent_order, customer):
    server, provider, order = sent_order(refill=True)

    assert order_cancel(order=order).startswith("Cancel requested")
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    with pytest.raises(ValidationError, match="already requested"):
        order_cancel(order=order)
    order_cancel_send(order_id=order.pk)
    assert "accepted the cancel" in order.events.last().message

    settle(server, provider, order)
    assert (order.status, order.refunded) == (S.CANCELED, order.charge)
    assert ledger_audit(account=account_for(customer)).ok


def test_cancel_refused_by_the_provider(sent_order):
    server, _, order = sent_order(refill=True)
    order_cancel(order=order)
    server.sim.advance(5)  # completed upstream before the cancel arrives

    order_cancel_send(order_id=order.pk)

    order.refresh_from_db()
    assert order.cancel_requested_at is None
    assert "refused the cancel" in order.events.last().message


def test_no_cancel_where_the_service_has_none(sent_order):
    _, _, order = sent_order(refill=True)
    order.service.cancel = False
    order.service.save()
    with pytest.raises(ValidationError, match="cannot be canceled"):
        order_cancel(order=order)


def test_the_sweeper_requeues_refills_and_reviews_stuck_ones(sent_order, monkeypatch):
    from orders.refills import refills_sweep

    server, provider, order = sent_order(refill=True)
    settle(server, provider, order)
    refill = refill_request(order=order)
    queued = []
    monkeypatch.setattr("orders.tasks.send_refill.delay", queued.append)

    # Its task, queued at the request, may still wait in a backlog: not doubled within the grace.
    assert refills_sweep(now=timezone.now() + timedelta(minutes=2))["refills_requeued"] == 0
    assert refills_sweep(now=timezone.now() + timedelta(minutes=16)) == {
        "refills_requeued": 1,
        "refills_to_review": 0,
    }
    assert refills_sweep(now=timezone.now() + timedelta(minutes=17))["refills_requeued"] == 0
    assert queued == [refill.pk]
    Refill.objects.filter(pk=refill.pk).update(status=Refill.Status.SENDING)
    assert refills_sweep(now=timezone.now() + timedelta(minutes=11))["refills_to_review"] == 1
    refill.refresh_from_db()
    assert refill.status == Refill.Status.NEEDS_REVIEW


def test_no_second_refill_while_the_first_ones_outcome_is_unknown(sent_order, client):
    server, provider, order = sent_order(refill=True)
    settle(server, provider, order)
    first = refill_request(order=order)
    server.sim.set_fault("http_500", action="refill", times=1)  # the provider took it; the answer is lost
    refill_send(refill_id=first.pk)
    first.refresh_from_db()
    assert first.status == Refill.Status.NEEDS_REVIEW
    assert len(server.sim.refills()) == 1

    # Refused everywhere while an operator has not settled the first: the customer is told why.
    assert refill_refusal(order) == BEING_CHECKED
    with pytest.raises(ValidationError, match="being checked"):
        refill_request(order=order)
    _, key = api_key_issue(user=order.user)
    answer = client.post("/api/v2", {"key": key, "action": "refill", "order": order.pk}).json()
    assert answer == {"error": BEING_CHECKED}
    with pytest.raises(IntegrityError), transaction.atomic():  # and a race cannot slip past the rule
        Refill.objects.create(order=order)
    assert len(server.sim.refills()) == 1 and order.refills.count() == 1

    # The operator found it upstream: it is followed, and still one at a time until it ends.
    refill_attach_provider_id(
        refill_id=first.pk, provider_refill_id=server.sim.refills()[0].id, actor=order.user
    )
    assert refill_refusal(order) == UNDER_WAY
    server.sim.advance(3)
    refills_sync_statuses(provider=provider)
    assert refill_refusal(order) is None


def test_a_closed_refill_of_unknown_outcome_lets_the_customer_ask_again(sent_order):
    server, provider, order = sent_order(refill=True)
    settle(server, provider, order)
    first = refill_request(order=order)
    server.sim.set_fault("accept_then_drop", action="refill", times=1)
    refill_send(refill_id=first.pk)
    refill_close(refill_id=first.pk, actor=order.user, note="not in the provider's list")

    second = refill_request(order=order)

    assert second.pk != first.pk and refill_refusal(order) == UNDER_WAY
