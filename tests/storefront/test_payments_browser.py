"""Money in through a real browser (issue 14): a customer chooses among the operator's methods and pays by card
on Stripe's hosted page (the local fake), whose signed webhook credits the running panel once; a referral
signs up through a link and deposits, and the referrer's page shows the commission."""

import copy

import pytest
from playwright.sync_api import expect

from billing.models import LedgerEntry, PaymentMethod, PaymentNotification, TopUp
from billing.services import account_for
from referrals.services import affiliate_for
from tests.browser import htmx_settled, shoot, sign_up
from tests.fakes.stripe import FakeStripe

pytestmark = pytest.mark.slow


def test_a_customer_pays_by_card_on_stripes_page_and_is_credited_once(
    transactional_db, chromium, live_server, make_customer, settings
):
    customer = make_customer("paula", funds="0")
    PaymentMethod.objects.create(
        code="bank-eur",
        name="Bank transfer (EUR)",
        processor="manual",
        position=5,
        min_amount=20,
        fee_fixed="0.50",
        bonus_percent=5,
        bonus_from=100,
        instructions="**Account holder:** Reseller Ltd  \n**IBAN:** DE89 3704 0044 0532 0130 00",
    )
    PaymentMethod.objects.filter(code="stripe").update(bonus_percent=3, bonus_from=50)
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
        expect(page.locator("#payment-methods tbody tr")).to_have_count(3)  # manual, the bank, the card
        page.get_by_label("Amount").fill("120")
        page.get_by_label("Bank transfer (EUR)").check()
        htmx_settled(page)
        expect(page.locator("#funds-quote")).to_contain_text("You pay 120.5000 USD")
        expect(page.locator("#funds-credited")).to_have_text("126.0000")  # the 5% bonus from 100
        shoot(page, "storefront-funds-methods")

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


def test_a_referral_signs_up_through_the_link_deposits_and_the_referrer_sees_the_commission(
    transactional_db, chromium, live_server, make_customer
):
    referrer = make_customer("rita", funds="0")
    code = affiliate_for(referrer).code

    visitor = chromium.new_context(base_url=live_server.url)
    page = visitor.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"/r/{code}/")
    sign_up(page, "ned")
    page.goto("/funds/")
    page.get_by_label("Amount").fill("40")
    page.get_by_label("Sandbox card gateway").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_text("Payment received: 40.0000 added to your balance.")).to_be_visible()
    visitor.close()

    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.goto("/referrals/")
    expect(page.locator("#visits")).to_have_text("1")
    expect(page.locator("#sign-ups")).to_have_text("1")
    expect(page.locator("#paying")).to_have_text("1")
    expect(page.locator("#earned")).to_contain_text("2.0000")  # 5% of 40
    shoot(page, "storefront-referrals")
    context.close()
