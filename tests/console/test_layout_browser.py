"""The console at a laptop's width (1366 by 768), in a real browser (issue 16): the Owner — who sees the
widest lists — logs in through the admin's login page and opens the front page and the lists operators work
from every day, each with a few rows of long names and links. On each: no horizontal overflow of the page, and
every column inside the window — the ones an operator reads first (the record, its status, its amount) named
— none cut off behind the table's scroll bar."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from billing.services import account_for, balance_deposit
from billing.topups import topup_request
from orders.models import Order
from panels.services import provider_upsert
from support.services import ticket_open
from tests.browser import admin_login, shoot
from tests.builders import order_in

pytestmark = pytest.mark.slow

LAPTOP = {"width": 1366, "height": 768}

# Each list and the columns an operator reads first (Django's ``column-<name>`` classes): there, and inside
# the window like every other column.
LISTS = {
    "/admin/orders/order/": ["id", "created_at", "user", "service", "charge", "status"],
    "/admin/orders/order/?needs_review=yes": ["id", "user", "charge", "status"],
    "/admin/auth/user/": ["username", "email", "is_active", "balance"],
    "/admin/billing/account/": ["user", "balance", "currency"],
    "/admin/billing/topup/": ["pk", "created_at", "user", "amount", "status"],
    "/admin/billing/ledgerentry/": ["created_at", "account", "kind", "amount", "balance_after"],
    "/admin/catalogue/service/": ["id", "name", "price", "cost", "margin", "status"],
    "/admin/panels/providerservice/": ["remote_id", "name", "provider", "rate_display", "active"],
    "/admin/panels/provider/": ["name", "enabled", "balance_display", "error_rate_display"],
    "/admin/support/ticket/": ["id", "subject", "user", "status", "waiting"],
}

LONG = "a-customer-with-a-rather-long-name"


@pytest.fixture
def daily_lists(transactional_db, on_sale):
    """A few rows in each list, with the long names and links real panels have."""
    services = [on_sale(price="2.0000"), on_sale("Package", price="0.5000", min_quantity=1, max_quantity=1)]
    provider_upsert(
        name="A second provider with a long name",
        api_url="http://127.0.0.1:9/v2",
        api_key="second-key-0123456789",
    )
    for n in range(3):
        user = User.objects.create_user(f"{LONG}-{n}", email=f"{LONG}-{n}@example.com")
        balance_deposit(account=account_for(user), amount=Decimal("250"))
        for m, status in enumerate((Order.Status.IN_PROGRESS, Order.Status.NEEDS_REVIEW)):
            order_in(
                status,
                user=user,
                service=services[0],
                link=f"https://www.instagram.com/p/a-very-long-post-address-that-goes-on-{n}/?igsh=abcdef",
                provider_order_id=f"99{n}{m}012345",
            )
        topup_request(
            user=user, amount=Decimal("25"), method="manual", reference=f"BANK-TRANSFER-2026-11-{n}"
        )
        ticket_open(
            user=user,
            kind="other",
            subject="The order has not started after two hours, what is going on with it?",
            body="Please check.",
        )


def test_the_daily_lists_fit_a_laptop_screen(daily_lists, browser_page):
    owner = User.objects.create_user("owner", password="owner-pass-42", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    page = browser_page
    page.set_viewport_size(LAPTOP)
    admin_login(page, "owner", "owner-pass-42")

    # The front page: what calls for action, the business's sections, the system's folded away.
    expect(page.locator("#console-links")).to_contain_text("3 waiting for an operator")
    expect(page.locator("#console-sections h2")).to_have_text(
        ["Orders & review", "Customers", "Catalogue", "Providers", "Money", "Content & communication"]
    )
    expect(page.locator("#console-system a", has_text="Periodic tasks")).to_be_hidden()
    _fits(page, "/admin/")
    shoot(page, "admin-front-page", full_page=False)
    page.locator("#console-system summary").click()
    expect(page.locator("#console-system a", has_text="Periodic tasks")).to_be_visible()

    for url, columns in LISTS.items():
        page.goto(url)
        expect(page.locator("#result_list tbody tr").first).to_be_visible()
        _fits(page, url)
        for column in columns:
            expect(page.locator(f"#result_list thead th.column-{column}")).to_have_count(1)
        _columns_inside(page, "#result_list", url)
        if url == "/admin/orders/order/":
            shoot(page, "admin-orders", full_page=False)

    # The review queue: a console page of its own, every column of it read.
    page.goto("/admin/console/review/")
    expect(page.locator("#review-queue tbody tr")).to_have_count(3)
    _fits(page, "/admin/console/review/")
    _columns_inside(page, "#review-queue", "/admin/console/review/")


def _fits(page, url: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"{url}: the page is {width} px wide"


def _columns_inside(page, table: str, url: str) -> None:
    """Every column header of ``table`` within the window (and its table scrolled by nothing)."""
    cut = page.evaluate(
        """(table) => [...document.querySelectorAll(`${table} thead th`)]
            .filter((th) => th.getBoundingClientRect().right > window.innerWidth)
            .map((th) => th.className || th.innerText)""",
        table,
    )
    assert cut == [], f"{url}: cut off: {cut}"
