"""A customer pays by card in a real browser (issue 14): the funds form, Stripe's hosted page (the local fake),
its signed webhook to the running panel, and back on the funds page with the balance credited once."""

import copy

import pytest
from playwright.sync_api import expect

from billing.models import LedgerEntry, PaymentNotification, TopUp
from billing.services import account_for
from tests.fakes.stripe import FakeStripe

pytestmark = pytest.mark.slow


def test_a_customer_pays_by_card_on_stripes_page_and_is_credited_once(
    transactional_db, chromium, live_server, make_customer, settings
):
    customer = make_customer("paula", funds="0")
    with FakeStripe(webhook_url=f"{live_server.url}/funds/callback/stripe/") as stripe:
        settings.PAYMENT_GATEWAYS = ["stripe"]
        settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = stripe.secret_key, stripe.webhook_secret
        settings.STRIPE_API_BASE = stripe.url
        # As PAYMENT_PAGES lets checkout.stripe.com: the browser follows the form's redirect to the fake only so.
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], stripe.url]
        settings.CONTENT_SECURITY_POLICY = policy

        context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("paula")
        page.get_by_label("Password").fill("pw-Secret-123")
        page.get_by_role("button", name="Log in").click()

        page.goto("/funds/")
        page.get_by_label("Amount").fill("25")
        page.get_by_label("Card (Stripe)").check()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
        expect(page.locator(".amount")).to_have_text("25.00 USD")
        page.get_by_role("button", name="Pay", exact=True).click()  # the webhook, then back to the panel

        expect(page.get_by_text("Payment received: 25.0000 added to your balance.")).to_be_visible()
        expect(page.locator("#funds-balance")).to_have_text("25.0000 USD")
        context.close()

    topup = TopUp.objects.get()
    assert (topup.method, topup.status) == (TopUp.Method.STRIPE, TopUp.Status.CREDITED)
    assert account_for(customer).balance == 25
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEPOSIT).count() == 1
    assert list(PaymentNotification.objects.values_list("kind", "outcome")) == [("paid", "applied")]
