"""The operator's screens in a real browser: log in to the admin, the review queue, the dashboard, providers."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from console.heartbeat import PERIODIC, SENDING, heartbeat_record
from orders.models import Order, Refill
from panels.models import SyncRun
from panels.services import sync_run, sync_run_finish
from tests.browser import shoot
from tests.builders import order_in
from tests.orders.support import service_of

pytestmark = pytest.mark.slow


def test_review_queue_and_dashboard_in_a_browser(transactional_db, browser_page, shop, customer):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    for n, (status, age, extra) in enumerate(
        [
            (Order.Status.NEEDS_REVIEW, timedelta(minutes=20), {"wait_reason": "Read timeout after sending"}),
            (
                Order.Status.WAITING,
                timedelta(hours=3),
                {"wait_reason": "The provider said: Not enough funds on balance"},
            ),
            (
                Order.Status.COMPLETED,
                timedelta(days=3),
                {"cost": Decimal("0.05"), "cost_currency": "USD", "provider_order_id": "10003"},
            ),
            (
                Order.Status.PARTIAL,
                timedelta(days=2),
                {"refunded": Decimal("0.01"), "cost": Decimal("0.03"), "cost_currency": "USD"},
            ),
            (Order.Status.IN_PROGRESS, timedelta(days=1), {"cost": Decimal("0.02"), "cost_currency": "USD"}),
        ]
    ):
        order = order_in(
            status, user=customer, service=service, link=f"https://instagram.com/p/{n}", age=age, **extra
        )
        if status == Order.Status.COMPLETED:
            completed = order
    Refill.objects.create(
        order=completed,
        status=Refill.Status.NEEDS_REVIEW,
        message="No valid answer to the refill request (HTTP 500).",
    )
    heartbeat_record(PERIODIC)
    heartbeat_record(SENDING)
    with sync_run(provider=provider, kind=SyncRun.Kind.STATUS) as run:
        sync_run_finish(run=run, summary="5 orders checked")
    boss = User.objects.create_user("owner", password="owner-pass-42", is_staff=True)
    boss.groups.add(Group.objects.get(name="Owner"))

    page = browser_page
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("owner-pass-42")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#console-links")).to_contain_text("3 waiting for an operator")

    page.locator("#console-links").get_by_role("link", name="Needs review").click()
    expect(page.locator("#review-queue tbody tr")).to_have_count(2)
    expect(page.locator("#review-refills tbody tr")).to_have_count(1)
    shoot(page, "admin-review-queue", full_page=False)

    # Refunding the order that never left asks first whether the provider was checked.
    waiting = page.locator("#review-queue tbody tr", has_text="Waiting")
    waiting.get_by_role("button", name="Refund").click()
    expect(page.get_by_text("charges you while the customer gets their money back")).to_be_visible()
    page.get_by_label("I searched the provider's panel").check()
    page.get_by_role("button", name="Refund").click()
    # The admin's message, a line of the list of messages.
    expect(
        page.get_by_role("listitem").filter(has_text=re.compile(r"Order #\d+: refunded\."))
    ).to_be_visible()
    page.goto("/admin/console/review/")
    expect(page.locator("#review-queue tbody tr")).to_have_count(1)

    page.goto("/admin/console/dashboard/")
    expect(page.locator("#money-chart rect")).to_have_count(60)
    expect(page.locator("#heartbeat-periodic .ok")).to_be_visible()
    expect(page.locator("#heartbeat-sending .ok")).to_be_visible()  # fresh, not flagged
    expect(page.locator("#late-syncs li")).to_have_count(0)
    shoot(page, "admin-dashboard", full_page=False)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/panels/provider/")
    expect(page.locator("#result_list")).to_contain_text("Order statuses:")
    shoot(page, "admin-providers", full_page=False)
    page.goto(f"/admin/panels/providerservice/?provider__id__exact={provider.pk}")
    expect(page.locator("#result_list tbody tr").first).to_be_visible()
    shoot(page, "admin-provider-services", full_page=False)

    page.goto("/admin/billing/paymentmethod/")  # the default methods, one per processor
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    shoot(page, "admin-payment-methods", full_page=False)
