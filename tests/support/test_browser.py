"""Support tickets in a real browser (Playwright on Debian's chromium-headless-shell) against a live server: a customer asks
about an order from its page, Support answers in the console with a canned reply, the customer sees the unread
answer in the header, reads it, and the mail is in the outbox."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import expect

from billing.services import account_for, balance_deposit
from orders.services import order_place
from support.models import CannedReply, Ticket
from tests.browser import shoot
from tests.staff import member

pytestmark = pytest.mark.slow


def sign_in(page, username: str, password: str, path: str) -> None:
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def mails_sent_at_once():
    """The answered mail's task runs in the live server's thread when queued (switched on once the order is
    placed: its dispatcher would run too, against the offline provider)."""
    from reseller.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_an_order_ticket_answered_in_the_console(
    transactional_db, browser_page, chromium, live_server, on_sale, settings, request
):
    settings.PANEL_URL = live_server.url
    customer = User.objects.create_user("mia", email="mia@example.com", password="mia-pass-42")
    balance_deposit(account=account_for(customer), amount=10)
    order = order_place(
        user=customer, service=on_sale(), data={"link": "https://x.example/p", "quantity": "100"}
    )
    support = member("Support")
    support.set_password("sue-pass-42")
    support.save()
    CannedReply.objects.create(title="On its way", body="Your order is on its way.")
    request.getfixturevalue("mails_sent_at_once")

    page = browser_page
    sign_in(page, "mia", "mia-pass-42", "/accounts/login/")
    page.goto(f"/orders/{order.pk}/")
    page.get_by_role("link", name="Ask about this order").click()
    expect(page.get_by_label("Order ids")).to_have_value(str(order.pk))
    expect(page.get_by_label("Transaction id")).to_be_hidden()  # the payment fields are another type's
    page.get_by_label("Subject").fill("Still not started")
    page.get_by_label("Request").select_option("speed_up")
    page.get_by_label("Message").fill("Could you speed it up, please?")
    shoot(page, "support-new-ticket")
    page.get_by_role("button", name="Open the ticket").click()
    expect(page.locator("#ticket-status")).to_have_text("Waiting for support")
    ticket = Ticket.objects.get()
    assert list(ticket.orders.all()) == [order]

    operator = chromium.new_context(base_url=live_server.url).new_page()
    sign_in(operator, "support", "sue-pass-42", "/admin/login/")
    operator.goto("/admin/")
    expect(operator.locator("#tickets-waiting")).to_have_text("1")
    operator.get_by_role("link", name="Support tickets").first.click()
    operator.get_by_role("link", name="Still not started").click()
    expect(operator.locator("#ticket-thread")).to_contain_text("Could you speed it up, please?")
    expect(operator.locator("#linked-orders")).to_contain_text(f"#{order.pk}")
    operator.wait_for_load_state()  # the canned replies' script (deferred) listens from the page's load on
    operator.get_by_label("Canned reply").select_option(label="On its way")
    reply = operator.locator("textarea[name=body]")
    expect(reply).to_have_value("Your order is on its way.")
    reply.fill("Your order is on its way: it starts within the hour.")
    operator.get_by_label("Internal note").fill("Checked the provider: queue is long today.")
    operator.get_by_role("button", name="Add the note").click()
    operator.locator("textarea[name=body]").fill("Your order is on its way: it starts within the hour.")
    operator.get_by_role("button", name="Send the reply").click()
    expect(operator.get_by_text(f"Ticket #{ticket.pk} answered")).to_be_visible()
    shoot(operator, "console-ticket")
    operator.context.close()

    page.goto("/support/")
    expect(page.locator("#header-unread")).to_have_text("1")
    page.get_by_role("link", name="Still not started").click()
    expect(page.locator("#thread")).to_contain_text("it starts within the hour")
    expect(page.locator("#ticket-status")).to_have_text("Answered")
    expect(page.locator("#thread")).not_to_contain_text("queue is long today")
    expect(page.locator("#header-unread")).to_have_count(0)
    shoot(page, "support-ticket")

    # The operators were alerted of the new ticket by mail; the customer is mailed the answer.
    alert, sent = mail.outbox
    assert alert.subject == f"[Reseller panel] New ticket: Ticket #{ticket.pk}: Still not started."
    assert sent.to == ["mia@example.com"] and "it starts within the hour" in sent.body
    assert re.search(rf"{re.escape(live_server.url)}/support/{ticket.pk}/", sent.body)
