"""The operator's daily path in a real browser at a laptop's width (issue 16): an Owner logs in with their
two-factor code, finds an order in the review queue, opens its customer's page from there, cancels and
refunds the order on the order list, and adjusts the balance with a reason on the customer page — which then
shows the new balance and both ledger rows."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from billing.services import account_for
from orders.models import Order
from tests.browser import admin_login, shoot

pytestmark = pytest.mark.slow
S = Order.Status


def test_review_queue_to_customer_page_to_a_manual_action(transactional_db, browser_page, placed, settings):
    settings.OTP_REQUIRED_FOR_OWNERS = True
    owner = User.objects.create_user("olga", password="Owner-pass-42", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    # Placed upstream; the customer asked to cancel three hours ago and the provider never confirmed.
    order = placed(
        S.IN_PROGRESS,
        provider_order_id="77",
        remains=20,
        cancel_requested_at=timezone.now() - timedelta(hours=3),
    )
    customer = order.user
    before = account_for(customer).balance

    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    admin_login(page, "olga", "Owner-pass-42")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="Log in").click()

    page.locator("#console-links").get_by_role("link", name="Needs review").click()  # also in the sidebar
    row = page.locator("#review-queue tbody tr", has_text=f"#{order.pk}")
    expect(row).to_contain_text("never confirmed the cancel")
    row.locator("a.customer-page").click()

    expect(page.locator("h1")).to_have_text(f"Customer {customer.username}")
    expect(page.locator("#balance-amount")).to_have_text(f"{before:f} USD")
    expect(page.locator("#orders-table")).to_contain_text("In progress")
    page.locator("#all-orders").click()

    # The order list, filtered to the customer: cancel and refund the order placed upstream.
    page.locator(f"input[name=_selected_action][value='{order.pk}']").check()
    page.locator("select[name=action]").select_option("cancel_placed")
    page.get_by_role("button", name="Run").click()
    page.get_by_label("I checked the provider").check()
    page.get_by_label("What you checked").fill("canceled in its panel")
    page.get_by_role("button", name="Cancel and refund").click()
    expect(page.locator("#messages")).to_contain_text("canceled and refunded.")

    # Back to the customer through the order's own page.
    page.locator("#result_list").get_by_role("link", name=str(order.pk), exact=True).click()
    page.locator("#customer-page-link").click()
    order.refresh_from_db()
    refund = order.refunded
    assert order.status == S.CANCELED and refund > 0
    expect(page.locator("#balance-amount")).to_have_text(f"{before + refund:f} USD")
    expect(page.locator("#orders-table")).to_contain_text("Canceled")
    expect(page.locator("#ledger-table tbody tr").first).to_contain_text("Refund")

    # A goodwill credit with its reason, on the page itself: it comes back here.
    form = page.locator("#adjust-balance")
    form.get_by_label("Amount").fill("5")
    form.get_by_label("Reason").fill("Sorry for the slow cancel")
    form.get_by_role("button", name="Adjust balance").click()
    expect(page.locator("#messages")).to_contain_text(f"+5.0000 → balance {before + refund + 5}")
    expect(page.locator("#balance-amount")).to_have_text(f"{before + refund + 5:f} USD")
    newest = page.locator("#ledger-table tbody tr").first
    expect(newest).to_contain_text("Adjustment")
    expect(newest).to_contain_text("Sorry for the slow cancel")
    expect(newest).to_contain_text("olga")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shoot(page, "admin-customer-page")
    assert account_for(customer).balance == before + refund + 5
