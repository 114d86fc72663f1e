"""A ticket's statuses move only as ``Ticket.states`` says, through the services both faces call: each move
writes its event, the staff's moves their audit row, and a refused move changes nothing."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from reseller.states import TransitionRefused, transition
from support.models import Ticket, TicketEvent
from support.services import (
    ticket_close,
    ticket_customer_reply,
    ticket_reopen,
    ticket_staff_reply,
)
from tests.staff import member

pytestmark = pytest.mark.django_db
T = Ticket.Status


def test_every_move_of_the_table_and_no_other(open_ticket):
    """Each (from, to) pair: allowed ones move and write one event, the rest are refused and write none."""
    for source in T:
        for target in T:
            ticket = open_ticket()
            Ticket.objects.filter(pk=ticket.pk).update(status=source)
            ticket.refresh_from_db()
            events = TicketEvent.objects.filter(ticket=ticket).count()
            if Ticket.states.allows(source, target):
                transition(ticket, target, message="test")
                ticket.refresh_from_db()
                assert ticket.status == target
                assert TicketEvent.objects.filter(ticket=ticket).count() == events + 1, (source, target)
            else:
                with pytest.raises(TransitionRefused):
                    transition(ticket, target, message="test")
                ticket.refresh_from_db()
                assert ticket.status == source, (source, target)
                assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_a_conversation_walks_the_statuses(customer, open_ticket):
    support = member("Support")
    ticket = open_ticket()
    assert ticket.status == T.OPEN and ticket.public_status == "Waiting for support"
    assert ticket.waiting_since is not None

    ticket_customer_reply(ticket=ticket, user=customer, body="Anyone there?")  # still waiting: no move
    ticket.refresh_from_db()
    assert ticket.status == T.OPEN

    ticket_staff_reply(ticket=ticket, actor=support, body="Here we are.")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.public_status, ticket.waiting_since) == (T.ANSWERED, "Answered", None)

    ticket_staff_reply(ticket=ticket, actor=support, body="And one more thing.")  # answered stays answered
    ticket_customer_reply(ticket=ticket, user=customer, body="Thanks, but…")
    ticket.refresh_from_db()
    assert ticket.status == T.CUSTOMER_REPLIED and ticket.waiting_since is not None

    ticket_staff_reply(ticket=ticket, actor=support, body="Done.")
    ticket_close(ticket=ticket, actor=customer)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.public_status) == (T.CLOSED, "Closed") and ticket.closed_at

    ticket_reopen(ticket=ticket, user=customer)
    ticket.refresh_from_db()
    assert ticket.status == T.OPEN and ticket.closed_at is None and ticket.waiting_since is not None

    moves = list(TicketEvent.objects.filter(ticket=ticket).values_list("from_status", "to_status", "actor"))
    assert moves == [
        ("", T.OPEN, customer.pk),
        (T.OPEN, T.ANSWERED, support.pk),
        (T.ANSWERED, T.CUSTOMER_REPLIED, customer.pk),
        (T.CUSTOMER_REPLIED, T.ANSWERED, support.pk),
        (T.ANSWERED, T.CLOSED, customer.pk),
        (T.CLOSED, T.OPEN, customer.pk),
    ]
    # The staff's answers are audited; the customer's own moves are not operator actions.
    assert (
        list(AuditEntry.objects.values_list("action", "actor")) == [("support.ticket.reply", support.pk)] * 3
    )


def test_refused_moves(customer, rival, open_ticket):
    ticket = open_ticket()
    with pytest.raises(TransitionRefused):
        ticket_reopen(ticket=ticket, user=customer)  # open: nothing to reopen
    ticket_close(ticket=ticket, actor=customer)
    with pytest.raises(TransitionRefused):
        ticket_close(ticket=ticket, actor=customer)  # closed twice
    with pytest.raises(ValidationError, match="closed: reopen it"):
        ticket_customer_reply(ticket=ticket, user=customer, body="One more thing")
    with pytest.raises(ValidationError, match="not your ticket"):
        ticket_reopen(ticket=ticket, user=rival)
    with pytest.raises(ValidationError, match="not your ticket"):
        ticket_customer_reply(ticket=ticket, user=rival, body="Me too")
    ticket.refresh_from_db()
    assert ticket.status == T.CLOSED and ticket.messages.count() == 1


def test_a_ticket_closed_meanwhile_is_refused_not_closed_twice(customer, open_ticket):
    ticket = open_ticket()
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket_close(ticket=ticket, actor=customer)
    with pytest.raises(TransitionRefused, match="cannot go from Closed to Closed"):
        ticket_close(ticket=stale, actor=member("Support"))
    assert not AuditEntry.objects.exists()


def test_the_staff_close_and_answer_a_closed_ticket(customer, open_ticket):
    support = member("Support")
    ticket = open_ticket()
    ticket_close(ticket=ticket, actor=support)
    ticket.refresh_from_db()
    assert ticket.status == T.CLOSED
    ticket_staff_reply(ticket=ticket, actor=support, body="One last word.")
    ticket.refresh_from_db()
    assert ticket.status == T.ANSWERED
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "support.ticket.close",
        "support.ticket.reply",
    ]
