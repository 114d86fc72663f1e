"""A refill or cancel asked in an order ticket is carried out by the staff from the ticket with the same service
functions as everywhere (``refill_request``, ``order_cancel``): their refusals shown, both outcomes noted on the
ticket and audited — and the provider (the simulator, over HTTP) does the rest as for any other request."""

import pytest

from audit.models import AuditEntry
from billing.services import account_for, ledger_audit
from orders.models import Order, Refill
from orders.refills import refill_send
from orders.services import order_cancel_send, order_place, order_submit
from support.models import InternalNote
from tests.orders.support import service_of, settle
from tests.staff import staff


@pytest.fixture
def sent_order(shop, customer):
    """An order sent to the smmcloud simulator (a service with refill and cancel)."""
    server, provider = shop()
    service = service_of(provider, "Default", refill=True, cancel=True)
    order = order_place(
        user=customer, service=service, data={"link": "https://x.example/o", "quantity": "100"}
    )
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    return server, provider, order


def carry_out(client, ticket, order, action):
    return client.post(
        f"/admin/support/ticket/{ticket.pk}/carry-out/", {"order": order.pk, "action": action}, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_refill_from_the_ticket(
    client, sent_order, open_ticket, published, django_capture_on_commit_callbacks
):
    server, provider, order = sent_order
    settle(server, provider, order)
    ticket = open_ticket(kind="order", orders=[order], request="refill", body="Followers dropped")
    sue = staff(client, "sue", "Support")
    page = client.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()
    assert f'value="Refill order #{order.pk}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = carry_out(client, ticket, order, "refill")

    assert messages_of(response) == [f"Order #{order.pk}: Refill requested."]
    refill = Refill.objects.get(order=order)
    assert [task for task, _, args in published if args == (refill.pk,)] == ["orders.tasks.send_refill"]
    refill_send(refill_id=refill.pk)  # what the worker does: the simulator takes the refill
    refill.refresh_from_db()
    assert refill.status == Refill.Status.PENDING and refill.provider_refill_id
    (note,) = InternalNote.objects.filter(ticket=ticket)
    assert (note.author, note.body) == (sue, f"Refill of order #{order.pk}: Refill requested.")
    (row,) = AuditEntry.objects.filter(action="support.ticket.refill")
    assert row.reason == f"Order #{order.pk}: Refill requested." and row.actor == sue


def test_a_refused_refill_is_shown_and_noted(client, sent_order, open_ticket):
    _, _, order = sent_order  # still in progress: not refillable yet
    ticket = open_ticket(kind="order", orders=[order], request="refill")
    staff(client, "sue", "Support")

    response = carry_out(client, ticket, order, "refill")

    assert messages_of(response) == [f"Order #{order.pk}: Only completed orders can be refilled."]
    assert not Refill.objects.exists()
    assert InternalNote.objects.get().body == (
        f"Refill of order #{order.pk} refused: Only completed orders can be refilled."
    )


def test_a_cancel_from_the_ticket_refunds_once_the_provider_confirms(
    client, sent_order, open_ticket, customer
):
    server, provider, order = sent_order
    ticket = open_ticket(kind="order", orders=[order], request="cancel")
    staff(client, "sue", "Support")

    response = carry_out(client, ticket, order, "cancel")

    expected = "Cancel requested: the undelivered part is refunded once the provider confirms."
    assert messages_of(response) == [f"Order #{order.pk}: {expected}"]
    order_cancel_send(order_id=order.pk)  # the worker asks the simulator
    settle(server, provider, order)
    assert (order.status, order.refunded) == (Order.Status.CANCELED, order.charge)
    assert ledger_audit(account=account_for(customer)).ok
    # A second click: the same rule refuses it.
    again = carry_out(client, ticket, order, "cancel")
    assert "can no longer be canceled" in messages_of(again)[0]
    assert InternalNote.objects.count() == 2
    assert AuditEntry.objects.filter(action="support.ticket.cancel").count() == 2


def test_only_the_tickets_own_orders(client, sent_order, open_ticket, placed):
    _, _, order = sent_order
    elsewhere = placed(Order.Status.COMPLETED)  # the same customer's, but not named in this ticket
    ticket = open_ticket(kind="order", orders=[order], request="cancel")
    staff(client, "sue", "Support")

    response = carry_out(client, ticket, elsewhere, "cancel")

    assert messages_of(response) == [f"Order #{elsewhere.pk}: That order is not one of this ticket's."]
    elsewhere.refresh_from_db()
    assert elsewhere.cancel_requested_at is None and not InternalNote.objects.exists()
