"""The customer's support pages: opening tickets of each type (with their own orders only), the thread, the
unread count in the header, closing and reopening — and nothing of anyone else's."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import PaymentMethod
from billing.services import account_for, balance_deposit
from orders.services import order_place
from support.models import Attachment, Ticket
from support.services import ticket_staff_reply
from support.signals import ticket_customer_wrote, ticket_opened
from tests.staff import member
from tests.support.conftest import PNG

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(on_sale):
    service = on_sale()

    def make(user):
        balance_deposit(account=account_for(user), amount=10)
        return order_place(
            user=user, service=service, data={"link": "https://x.example/p", "quantity": "100"}
        )

    return make


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def header_unread(page) -> str | None:
    found = re.search(r'id="header-unread"[^>]*>(\d+)<', page.content.decode())
    return found.group(1) if found else None


def test_an_order_ticket_from_the_orders_page(signed_in, customer, place):
    order, other = place(customer), place(customer)
    detail = signed_in.get(f"/orders/{order.pk}/").content.decode()
    assert f'href="/support/new/?order={order.pk}"' in detail

    form = signed_in.get(f"/support/new/?order={order.pk}")
    assert form.context["form"]["kind"].value() == "order"
    assert form.context["form"]["orders"].value() == str(order.pk)

    response = signed_in.post(
        "/support/new/",
        {
            "kind": "order",
            "subject": "Slow delivery",
            "orders": f"{order.pk}, #{other.pk}",
            "request": "speed_up",
            "body": "Can you speed these up?",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/support/{ticket.pk}/"
    assert (ticket.user, ticket.kind, ticket.request) == (customer, "order", "speed_up")
    assert list(ticket.orders.order_by("pk")) == [order, other]
    page = signed_in.get(f"/support/{ticket.pk}/").content.decode()
    assert "Can you speed these up?" in page and "Waiting for support" in page
    assert f'href="/orders/{order.pk}/"' in page
    assert "Slow delivery" in signed_in.get("/support/").content.decode()


def test_another_customers_order_is_a_form_error_that_tells_nothing(signed_in, customer, rival, place):
    theirs = place(rival)
    mine = place(customer)
    typed = {"kind": "order", "subject": "Where is it?", "request": "other", "body": "My long message…"}

    foreign = signed_in.post("/support/new/", {**typed, "orders": f"{mine.pk} {theirs.pk}"})
    missing = signed_in.post("/support/new/", {**typed, "orders": f"{mine.pk} 999999"})

    assert foreign.status_code == missing.status_code == 200
    assert foreign.context["form"].errors["orders"] == [f"You have no order #{theirs.pk}."]
    assert missing.context["form"].errors["orders"] == ["You have no order #999999."]
    page = foreign.content.decode()
    assert "Where is it?" in page and "My long message…" in page  # nothing typed is lost
    assert theirs.link not in page and "rita" not in page
    assert not Ticket.objects.exists()


def test_each_type_asks_its_own_fields(signed_in):
    method = PaymentMethod.objects.create(code="bank-eur", name="Bank transfer (EUR)", processor="manual")
    base = {"subject": "Help", "body": "Please"}
    order = signed_in.post("/support/new/", {**base, "kind": "order"})
    assert set(order.context["form"].errors) == {"orders", "request"}
    payment = signed_in.post("/support/new/", {**base, "kind": "payment"})
    assert set(payment.context["form"].errors) == {"payment_method", "transaction_id"}
    assert signed_in.post("/support/new/", {**base, "kind": "service"}).status_code == 302
    signed_in.post(
        "/support/new/", {**base, "kind": "payment", "payment_method": method.code, "transaction_id": "TX-9"}
    )
    ticket = Ticket.objects.get(kind="payment")
    assert (ticket.payment_method, ticket.transaction_id) == (method, "TX-9")


def test_opening_is_rate_limited_per_customer(signed_in, settings):
    settings.SUPPORT_TICKETS_PER_CUSTOMER = "2/hour"
    data = {"kind": "other", "subject": "Again", "body": "And again"}
    assert [signed_in.post("/support/new/", data).status_code for _ in range(2)] == [302, 302]
    refused = signed_in.post("/support/new/", data)
    assert refused.status_code == 200 and "many tickets in a short time" in refused.content.decode()
    assert "And again" in refused.content.decode()
    assert Ticket.objects.count() == 2


def test_opening_and_writing_are_announced(signed_in, customer, open_ticket):
    heard = []

    def opened(sender, ticket, **kwargs):
        heard.append(("opened", sender, ticket.subject))

    def wrote(sender, ticket, **kwargs):
        heard.append(("wrote", sender, ticket.subject))

    ticket_opened.connect(opened)
    ticket_customer_wrote.connect(wrote)
    try:
        signed_in.post("/support/new/", {"kind": "other", "subject": "Hi", "body": "Hello"})
        ticket = Ticket.objects.get()
        signed_in.post(f"/support/{ticket.pk}/", {"body": "More"})
    finally:
        ticket_opened.disconnect(opened)
        ticket_customer_wrote.disconnect(wrote)
    assert heard == [("opened", Ticket, "Hi"), ("wrote", Ticket, "Hi")]


def test_unread_answers_in_the_header_until_the_thread_is_read(signed_in, customer, open_ticket):
    ticket = open_ticket()
    assert header_unread(signed_in.get("/support/")) is None
    support = member("Support")
    ticket_staff_reply(ticket=ticket, actor=support, body="First answer")
    ticket_staff_reply(ticket=ticket, actor=support, body="Second answer")

    assert header_unread(signed_in.get("/dashboard/")) == "2"
    assert f'id="unread-{ticket.pk}">2 new answers<' in signed_in.get("/support/").content.decode()
    thread = signed_in.get(f"/support/{ticket.pk}/")
    assert "First answer" in thread.content.decode() and "Answered" in thread.content.decode()
    listed = signed_in.get("/support/").content.decode()
    assert header_unread(signed_in.get("/support/")) is None and f'id="unread-{ticket.pk}"' not in listed


def test_the_customer_replies_closes_and_reopens(signed_in, customer, open_ticket):
    ticket = open_ticket()
    assert signed_in.post(f"/support/{ticket.pk}/", {"body": ""}).context["form"].errors["body"]
    signed_in.post(f"/support/{ticket.pk}/", {"body": "An update"})
    signed_in.post(f"/support/{ticket.pk}/close/")
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    page = signed_in.get(f"/support/{ticket.pk}/").content.decode()
    assert "Reopen the ticket" in page and 'id="reply-form"' not in page
    refused = signed_in.post(f"/support/{ticket.pk}/", {"body": "Sneaky"})
    assert "closed: reopen it" in refused.content.decode()
    signed_in.post(f"/support/{ticket.pk}/reopen/")
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.messages.count() == 2


def test_nothing_of_another_customers_ticket_is_reachable(client, customer, rival, open_ticket):
    theirs = open_ticket(user=rival, body="My secret", files=[SimpleUploadedFile("a.png", PNG)])
    ticket_staff_reply(ticket=theirs, actor=member("Support"), body="Answer for rita")
    (attachment,) = Attachment.objects.all()
    client.force_login(customer)

    for path in [f"/support/{theirs.pk}/", f"/support/files/{attachment.pk}/"]:
        assert client.get(path).status_code == 404, path
    for path in [f"/support/{theirs.pk}/", f"/support/{theirs.pk}/close/", f"/support/{theirs.pk}/reopen/"]:
        assert client.post(path, {"body": "Me too"}).status_code == 404, path
    assert "My secret" not in client.get("/support/").content.decode()
    assert header_unread(client.get("/support/")) is None  # rita's unread answer is not counted here
    theirs.refresh_from_db()
    assert theirs.status == "answered" and theirs.messages.count() == 2
    assert client.get(f"/support/files/{attachment.pk}/").status_code == 404

    client.logout()
    assert client.get(f"/support/files/{attachment.pk}/").status_code == 302  # to the login page
    client.force_login(rival)
    assert client.get(f"/support/files/{attachment.pk}/").status_code == 200
