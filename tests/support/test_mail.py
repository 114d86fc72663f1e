"""The customer is told of an answer by mail — plain text and HTML, once, by a worker after the answer
commits, as every customer mail is (switchable, with its unsubscribe link); never for a rolled-back answer,
never for a note, never to a customer without an address."""

import pytest
from django.core import mail
from django.db import transaction

from notifications.models import CustomerPreferences, Notification
from notifications.tasks import customer_mail
from support.services import ticket_customer_reply, ticket_note_add, ticket_staff_reply
from tests.staff import member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def customer_address(customer):
    customer.email = "dave@example.com"
    customer.save()


def test_an_answer_is_mailed_once_after_commit(
    customer, open_ticket, settings, published, django_capture_on_commit_callbacks
):
    settings.PANEL_URL = "https://panel.example.com"
    ticket = open_ticket(subject="Late order")
    support = member("Support")

    with django_capture_on_commit_callbacks() as callbacks:
        message = ticket_staff_reply(ticket=ticket, actor=support, body="It <b>ships</b> today.")
        ticket_note_add(ticket=ticket, actor=support, body="NOTE-NEVER-MAILED")
        assert mail.outbox == []  # nothing before the commit
        assert published == []
    assert len(callbacks) == 1
    callbacks[0]()
    # Queued once, for a worker: the request that answered sends nothing itself.
    notification = Notification.objects.get(key=f"ticket_answered:{message.pk}")
    assert [(task, args) for task, _, args in published] == [
        ("notifications.tasks.customer_mail", (notification.pk,))
    ]
    assert mail.outbox == []
    customer_mail(notification.pk)  # what the worker runs
    customer_mail(notification.pk)  # a redelivered task mails nothing more

    (sent,) = mail.outbox
    assert sent.to == ["dave@example.com"]
    assert sent.subject == f"Ticket #{ticket.pk} answered: Late order"
    assert (
        "It <b>ships</b> today." in sent.body
        and f"https://panel.example.com/support/{ticket.pk}/" in sent.body
    )
    (html, kind) = sent.alternatives[0]
    assert kind == "text/html" and "It &lt;b&gt;ships&lt;/b&gt; today." in html
    assert "NOTE-NEVER-MAILED" not in sent.body + html
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_customer_who_turned_answers_off_is_not_mailed(
    customer, open_ticket, eager_celery, django_capture_on_commit_callbacks
):
    CustomerPreferences.objects.update_or_create(user=customer, defaults={"muted": ["ticket_answered"]})
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_staff_reply(ticket=ticket, actor=member("Support"), body="Answer")
    assert mail.outbox == []
    assert Notification.objects.get(kind="ticket_answered").status == Notification.Status.SKIPPED


def test_a_rolled_back_answer_is_not_mailed(open_ticket, eager_celery, django_capture_on_commit_callbacks):
    ticket = open_ticket()
    support = member("Support")

    def answer_then_fail():
        with transaction.atomic():
            ticket_staff_reply(ticket=ticket, actor=support, body="Oops")
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        answer_then_fail()
    assert callbacks == [] and mail.outbox == []
    assert not ticket.messages.filter(from_staff=True).exists()


def test_the_customers_own_messages_and_addressless_customers_get_no_mail(
    customer, open_ticket, eager_celery, django_capture_on_commit_callbacks
):
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        own = ticket_customer_reply(ticket=ticket, user=customer, body="Me again")
    assert mail.outbox == []
    assert not Notification.objects.filter(target_id=own.pk).exists()

    customer.email = ""
    customer.save()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_staff_reply(ticket=ticket, actor=member("Support"), body="Answer")
    assert mail.outbox == []
