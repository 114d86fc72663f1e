"""Every customer page at a phone's width (390 px) and a laptop's (1366 px), in a real browser (issue 16).

The pages come from the URLconf: every named route outside the operator's console and the APIs is visited
(with an order of each kind and a ticket with answers for the routes that take an id) or skipped here for a
stated reason, so a page added later is measured too. On each: no horizontal overflow, the viewport meta
tag in place; at 390 px the menu folds behind its button and opens with a click or the keyboard.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import expect

from billing.services import account_for, balance_deposit
from content.models import Page
from orders.models import Order, Refill
from support.services import ticket_open, ticket_staff_reply
from tests.browser import DESKTOP, PHONE, assert_fits, shoot
from tests.builders import order_in

pytestmark = pytest.mark.slow

# Routes that are not pages a customer looks at: actions (POST only), feeds and files, callbacks.
NOT_PAGES = {
    "logout": "POST only",
    "storefront:order-quote": "an htmx fragment of the new-order page",
    "storefront:funds-quote": "an htmx fragment of the funds page",
    "storefront:order-refill": "POST only",
    "storefront:order-cancel": "POST only",
    "storefront:gateway-callback": "a payment processor's callback",
    "storefront:sandbox-pay": "the sandbox gateway's page, measured by the payments browser test",
    "support:close": "POST only",
    "support:reopen": "POST only",
    "support:attachment": "a file",
    "content:announcement-dismiss": "POST only",
    "content:brand-stylesheet": "the operator's colours, a stylesheet",
    "content:brand-logo": "an image",
    "content:favicon": "an image",
    "webhooks:upstream": "a provider's callback",
    "referral-link": "a redirect to the home page",
    "accounts:two-factor-turn-off": "POST only",
    "accounts:language": "POST only: the header's language switcher (tests/i18n)",
    "accounts:two-factor-recovery-codes": "POST only: the codes are shown once, on the two-factor page's layout",
}
# The operator's console and the APIs have their own faces (Django admin, JSON, Swagger).
NOT_CUSTOMER_PREFIXES = ("admin/", "api/")


def customer_routes() -> list[tuple[str, list[str]]]:
    """(name, its parameters) of every named route a customer's browser may open, from the URLconf."""
    found = []

    def walk(patterns, prefix="", namespace=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if route.startswith(NOT_CUSTOMER_PREFIXES):
                continue
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, route, inner)
            elif isinstance(entry, URLPattern) and entry.name:
                found.append((namespace + entry.name, list(entry.pattern.converters)))

    walk(get_resolver().url_patterns)
    return found


def pages_to_visit(orders: list[Order], ticket) -> tuple[list[str], list[str]]:
    """(pages for anyone, pages for the signed-in customer) as paths."""
    with_arguments = {
        "storefront:order": [{"pk": order.pk} for order in orders],
        "support:ticket": [{"pk": ticket.pk}],
        # Links from mails; a stale token still renders the page that says so, in the same layout.
        "accounts:sign-up-confirm": [{"uidb64": "MQ", "token": "set-password"}],
        "password_reset_confirm": [{"uidb64": "MQ", "token": "set-password"}],
        "accounts:email-confirm": [{"token": "stale-token"}],
        "notifications:unsubscribe": [{"token": "stale-token"}],
    }
    public, signed_in, seen = [], [], set()
    for name, parameters in customer_routes():
        if name in NOT_PAGES or name in seen:
            continue
        seen.add(name)
        if parameters:
            assert name in with_arguments, f"{name} takes {parameters}: give it values here or skip it"
            signed_in += [reverse(name, kwargs=kwargs) for kwargs in with_arguments[name]]
        else:
            public.append(reverse(name))
    return public, public + signed_in


def assert_menu_usable_on_a_phone(page) -> None:
    page.goto("/dashboard/")
    menu, button = page.locator("#menu"), page.locator("label[for=menu-toggle]")
    expect(page.get_by_role("checkbox", name="Menu")).not_to_be_checked()
    expect(menu).to_be_hidden()
    button.click()
    expect(menu).to_be_visible()
    for link in menu.get_by_role("link").all():
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()
    menu.get_by_role("link", name="Orders").click()
    expect(page).to_have_url(re.compile(r"/orders/$"))
    expect(page.locator("#menu")).to_be_hidden()  # a new page starts folded
    # The keyboard: the toggle is in the tab order and Space opens the menu.
    page.locator("#menu-toggle").focus()
    page.keyboard.press("Space")
    expect(page.locator("#menu")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#menu a").first).to_be_focused()


def test_every_customer_page_fits_a_phone_and_a_laptop(transactional_db, chromium, live_server, on_sale):
    customer = User.objects.create_user("cleo", "cleo@example.com", "pw-Secret-123")
    balance_deposit(account=account_for(customer), amount=Decimal(1000))
    long_link = "https://www.instagram.com/p/" + "C3xYzLongPostIdentifier" * 5 + "/?igsh=MTc4MmM5bWQ"
    dripfed = on_sale("Default", dripfeed=True)
    orders = [
        order_in(
            Order.Status.COMPLETED, user=customer, service=on_sale("Default", refill=True), link=long_link
        ),
        order_in(Order.Status.IN_PROGRESS, user=customer, service=on_sale("Custom Comments")),
        order_in(Order.Status.WAITING, user=customer, service=on_sale("Package"), age=timedelta(hours=3)),
        order_in(Order.Status.IN_PROGRESS, user=customer, service=on_sale("Subscriptions", max_quantity=500)),
        order_in(Order.Status.PARTIAL, user=customer, service=dripfed, link=long_link),
    ]
    Order.objects.filter(pk=orders[-1].pk).update(
        runs=3, fields={**orders[-1].fields, "runs": 3, "interval": 30}
    )
    Refill.objects.create(order=orders[0])
    ticket = ticket_open(
        user=customer, kind="other", subject="Where is my order " + "#1234 " * 8, body=long_link
    )
    staff = User.objects.create_superuser("boss", "boss@example.com", "pw")
    ticket_staff_reply(ticket=ticket, actor=staff, body="It is on its way. " * 20)
    for slug in Page.Slug.values:
        Page.objects.create(slug=slug, title=slug.title(), body="Words " * 200)
    public, signed_in = pages_to_visit(orders, ticket)
    assert "/orders/" in signed_in and f"/support/{ticket.pk}/" in signed_in

    for name, options in (("phone", PHONE), ("desktop", DESKTOP)):
        width = options["viewport"]["width"]
        context = chromium.new_context(base_url=live_server.url, **options)
        page = context.new_page()
        page.set_default_timeout(10_000)
        for path in public:
            assert_fits(page, path, width)
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("cleo")
        page.get_by_label("Password").fill("pw-Secret-123")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Hello, cleo")).to_be_visible()
        for path in signed_in:
            assert_fits(page, path, width)
        if name == "phone":
            assert_menu_usable_on_a_phone(page)
            # Orders as cards: the status and the charge on screen, the long link wrapped in words, not letters.
            page.goto("/orders/")
            for label in ("Status", "Charge"):
                cell = page.locator(f"tr[data-order='{orders[0].pk}'] td[data-label='{label}']")
                box = cell.bounding_box()
                assert box["x"] + box["width"] <= 390, label
            assert page.locator("td.link").first.bounding_box()["width"] > 150
        else:
            expect(page.locator("#menu")).to_be_visible()
            expect(page.locator(".menu-button")).to_be_hidden()
        screens = {
            "dashboard": "/dashboard/",
            "orders": "/orders/",
            "new-order": f"/order/?service={orders[0].service_id}",
        }
        for screen, path in screens.items():
            page.goto(path)
            shoot(page, f"storefront-{name}-{screen}")
        if name == "phone":
            page.locator("label[for=menu-toggle]").click()
            shoot(page, "storefront-phone-menu")
        context.close()
