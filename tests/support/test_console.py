"""Tickets in the console: Support (and the Owner) answer, assign, note and close, each audited; staff without
the permission and customers get nothing; the queue is the longest waiting first; provider details only for
staff who may see providers; internal notes never reach the customer."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEntry
from orders.models import Order
from support.models import CannedReply, InternalNote, Ticket, TicketMessage
from support.services import ticket_note_add, ticket_staff_reply
from tests.staff import member, staff

pytestmark = pytest.mark.django_db


def page(ticket) -> str:
    return f"/admin/support/ticket/{ticket.pk}/change/"


def act(ticket, action: str) -> str:
    return f"/admin/support/ticket/{ticket.pk}/{action}"


def test_support_answers_a_ticket_from_its_page(client, customer, open_ticket, published):
    ticket = open_ticket(body="Where is my order?")
    sue = staff(client, "sue", "Support")

    shown = client.get(page(ticket))
    assert shown.status_code == 200 and "Where is my order?" in shown.content.decode()
    response = client.post(act(ticket, "reply/"), {"body": "It is on its way."})

    assert response.status_code == 302 and response["Location"] == page(ticket)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ANSWERED
    answer = ticket.messages.get(from_staff=True)
    assert (answer.author, answer.body) == (sue, "It is on its way.")
    (row,) = AuditEntry.objects.all()
    assert (row.action, row.actor, row.target_id) == ("support.ticket.reply", sue, str(ticket.pk))
    assert row.changes == {"status": ["open", "answered"]}


def test_a_canned_reply_is_sent_as_it_is_when_nothing_is_written(client, open_ticket):
    ticket = open_ticket()
    canned = CannedReply.objects.create(title="Refill on its way", body="We asked the provider for a refill.")
    staff(client, "sue", "Support")
    assert "Refill on its way" in client.get(page(ticket)).content.decode()
    client.post(act(ticket, "reply/"), {"canned": str(canned.pk), "body": ""})
    assert ticket.messages.get(from_staff=True).body == "We asked the provider for a refill."


def test_a_refused_reply_keeps_what_was_typed(client, open_ticket):
    ticket = open_ticket()
    staff(client, "sue", "Support")
    html = SimpleUploadedFile("screenshot.png", b"<html><script>alert(1)</script></html>", "image/png")
    response = client.post(act(ticket, "reply/"), {"body": "My careful answer", "files": [html]})
    assert response.status_code == 200
    content = response.content.decode()
    assert "My careful answer" in content and "screenshot.png is not an image" in content
    assert not ticket.messages.filter(from_staff=True).exists() and not AuditEntry.objects.exists()


def test_staff_without_the_permission_and_customers_change_nothing(client, customer, open_ticket):
    ticket = open_ticket(files=[SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n....")])
    attachment = ticket.messages.get().attachments.get()
    actions = [
        ("reply/", {"body": "Hi"}),
        ("note/", {"note": "psst"}),
        ("assign/", {"assignee": ""}),
        ("close/", {}),
        ("carry-out/", {"order": "1", "action": "refill"}),
    ]
    client.force_login(User.objects.create_user("newhire", password="pw", is_staff=True))
    assert client.get("/admin/support/ticket/").status_code == 403
    assert client.get(page(ticket)).status_code == 403
    assert client.get(f"/admin/support/ticket/file/{attachment.pk}/").status_code == 403
    for action, data in actions:
        assert client.post(act(ticket, action), data).status_code == 403, action

    client.force_login(customer)
    for action, data in actions:
        response = client.post(act(ticket, action), data)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], action
    assert client.get(f"/admin/support/ticket/file/{attachment.pk}/").status_code == 302

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN and ticket.messages.count() == 1
    assert not InternalNote.objects.exists() and not AuditEntry.objects.exists()


def test_the_owner_answers_too(client, open_ticket):
    ticket = open_ticket()
    staff(client, "olive", "Owner")
    assert client.post(act(ticket, "reply/"), {"body": "Owner here."}).status_code == 302
    assert ticket.messages.filter(from_staff=True, body="Owner here.").exists()


def test_notes_and_assignment_are_audited_and_notes_never_reach_the_customer(
    client, customer, open_ticket, eager_celery, django_capture_on_commit_callbacks
):
    customer.email = "dave@example.com"
    customer.save()
    ticket = open_ticket()
    sue = staff(client, "sue", "Support")
    client.post(act(ticket, "note/"), {"note": "Customer is VIP-SECRET-NOTE"})
    client.post(act(ticket, "assign/"), {"assignee": sue.pk})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(act(ticket, "reply/"), {"body": "Answered in public."})

    ticket.refresh_from_db()
    assert ticket.assignee == sue
    assert "VIP-SECRET-NOTE" in client.get(page(ticket)).content.decode()
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "support.ticket.note",
        "support.ticket.assign",
        "support.ticket.reply",
    ]
    assert AuditEntry.objects.get(action="support.ticket.assign").changes == {"assignee": [None, "sue"]}

    client.force_login(customer)
    customer_page = client.get(f"/support/{ticket.pk}/").content.decode()
    assert "Answered in public." in customer_page and "VIP-SECRET-NOTE" not in customer_page
    (sent,) = mail.outbox
    assert "Answered in public." in sent.body
    assert "VIP-SECRET-NOTE" not in sent.body + sent.alternatives[0][0]


def test_only_staff_can_be_assigned(client, customer, open_ticket):
    ticket = open_ticket()
    staff(client, "sue", "Support")
    client.post(act(ticket, "assign/"), {"assignee": customer.pk})
    ticket.refresh_from_db()
    assert ticket.assignee is None and not AuditEntry.objects.exists()


def test_the_queue_is_the_longest_waiting_first(client, customer, open_ticket):
    now = timezone.now()
    newest, oldest, answered = open_ticket(subject="newest"), open_ticket(subject="oldest"), open_ticket()
    Ticket.objects.filter(pk=newest.pk).update(waiting_since=now - timedelta(minutes=5))
    Ticket.objects.filter(pk=oldest.pk).update(waiting_since=now - timedelta(days=2))
    ticket_staff_reply(ticket=answered, actor=member("Support"), body="Done")
    client.force_login(User.objects.get(username="support"))

    listed = client.get("/admin/support/ticket/").context["cl"].result_list
    assert list(listed) == [oldest, newest, answered]
    waiting = client.get("/admin/support/ticket/?waiting=staff").context["cl"].result_list
    assert list(waiting) == [oldest, newest]
    assert list(client.get("/admin/support/ticket/?status__exact=answered").context["cl"].result_list) == [
        answered
    ]
    assert "2 d 0 h" in client.get("/admin/support/ticket/").content.decode()

    index = client.get("/admin/").content.decode()
    assert 'id="tickets-waiting" class="waiting">2<' in index


def test_provider_details_only_for_staff_who_may_see_providers(client, placed, open_ticket):
    order = placed(Order.Status.IN_PROGRESS, provider_order_id="PROV-77", provider_status="In progress")
    ticket = open_ticket(kind="order", orders=[order], request="other")

    staff(client, "sue", "Support")
    support_page = client.get(page(ticket)).content.decode()
    assert f"#{order.pk}" in support_page and "PROV-77" not in support_page
    assert placed.provider.name not in support_page

    staff(client, "olive", "Owner")
    owner_page = client.get(page(ticket)).content.decode()
    assert "PROV-77" in owner_page and placed.provider.name in owner_page

    client.force_login(order.user)
    customer_page = client.get(f"/support/{ticket.pk}/").content.decode()
    assert "PROV-77" not in customer_page and placed.provider.name not in customer_page


def test_the_staff_download_any_tickets_file(client, open_ticket):
    ticket = open_ticket(files=[SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n....")])
    attachment = ticket.messages.get().attachments.get()
    staff(client, "sue", "Support")
    response = client.get(f"/admin/support/ticket/file/{attachment.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client.get("/admin/support/ticket/file/999999/").status_code == 404


def test_a_note_is_the_staffs_only(open_ticket):
    ticket = open_ticket()
    ticket_note_add(ticket=ticket, actor=member("Support"), body="internal")
    assert not TicketMessage.objects.filter(body="internal").exists()
