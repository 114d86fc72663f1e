"""The language switch in a real browser, at a phone's width and a laptop's (issue 16): from the header (the
folded menu on a phone), the page comes back in the language chosen; a customer's choice sticks to their
account; the main customer pages still fit in Russian, whose words run longest. The operator's branding
(name, colours, footer) shows at both widths, as the README's screenshots show."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from accounts.models import Profile
from billing.services import account_for, balance_deposit
from content.branding import branding_forget
from content.models import Branding
from orders.models import Order
from support.services import ticket_open
from tests.browser import DESKTOP, PHONE, assert_fits, shoot
from tests.builders import order_in
from tests.i18n.support import said

pytestmark = pytest.mark.slow

MAIN_PAGES = [
    "/dashboard/",
    "/order/",
    "/orders/",
    "/funds/",
    "/services/",
    "/support/",
    "/accounts/settings/",
]


BRAND = {
    "panel_name": "SMM Zvezda",
    "accent_colour": "#7c3aed",
    "footer_text": "Поддержка 24/7: @zvezda_support",
}
ACCENT_RGB = "rgb(124, 58, 237)"


def assert_branded(page) -> None:
    expect(page.locator("header a.brand")).to_have_text(BRAND["panel_name"])
    expect(page.locator("#brand-footer")).to_contain_text(BRAND["footer_text"])
    # The brand stylesheet (not inline: CSP) sets the accent the buttons are drawn in.
    assert (
        page.locator("main button[type=submit]").first.evaluate("b => getComputedStyle(b).backgroundColor")
        == ACCENT_RGB
    )


def switch_to(page, code: str, *, phone: bool) -> None:
    if phone:
        page.locator("label[for=menu-toggle]").click()
    page.locator(f"#language-switcher button[value={code}]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator(f"#language-switcher button[value={code}]")).to_have_attribute("aria-current", "true")


def test_the_language_switch_at_a_phones_and_a_laptops_width(
    transactional_db, chromium, live_server, on_sale
):
    customer = User.objects.create_user("ivan", "ivan@example.com", "pw-Secret-123")
    Profile.objects.create(user=customer, language="en")
    balance_deposit(account=account_for(customer), amount=Decimal(1000))
    order = order_in(Order.Status.IN_PROGRESS, user=customer, service=on_sale("Default", refill=True))
    ticket_open(user=customer, kind="other", subject="Где мой заказ?", body="Подскажите, пожалуйста.")
    pages = [*MAIN_PAGES, f"/orders/{order.pk}/"]
    Branding.objects.create(pk=1, **BRAND)
    branding_forget()

    for name, options in (("phone", PHONE), ("desktop", DESKTOP)):
        Profile.objects.filter(user=customer).update(language="en")
        width = options["viewport"]["width"]
        context = chromium.new_context(base_url=live_server.url, **options)
        page = context.new_page()
        page.set_default_timeout(10_000)

        # A visitor: the choice is kept in a cookie, page after page.
        page.goto("/")
        switch_to(page, "es", phone=name == "phone")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            said("es", "Social media services, wholesale")
        )
        page.goto("/services/")
        expect(page.get_by_role("heading", level=1)).to_have_text(said("es", "Services and prices"))

        # A customer: their profile's language, whatever the cookie; switching changes the profile.
        page.goto("/accounts/login/")
        page.locator("#id_username").fill("ivan")
        page.locator("#id_password").fill("pw-Secret-123")
        page.locator("main form button[type=submit]").click()
        expect(page.get_by_role("heading", name="Hello, ivan")).to_be_visible()
        switch_to(page, "ru", phone=name == "phone")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            said("ru", "Hello, %(name)s") % {"name": "ivan"}
        )
        assert Profile.objects.get(user=customer).language == "ru"
        for path in pages:
            assert_fits(page, path, width)
        expect(page.locator("#order-status")).to_have_text(said("ru", "In progress", "order status"))
        page.goto("/orders/")
        assert_branded(page)
        shoot(page, f"storefront-{name}-orders-ru")
        context.close()
