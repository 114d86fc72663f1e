"""Helpers for the tests that drive a real browser (the ``chromium`` and ``browser_page`` fixtures)."""

import os
import re
from pathlib import Path

from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

# The README's screenshots are refreshed on demand (SCREENSHOTS=docs/screenshots bin/test …), so that an
# ordinary test run leaves the checkout as it was; otherwise they land under var/.
SCREENSHOTS = Path(settings.BASE_DIR) / os.environ.get("SCREENSHOTS", "var/screenshots")


def shoot(page, name: str, *, full_page: bool = True) -> None:
    """Save the whole page (or what the window shows: the console's sidebar and bars stay in place) as
    <SCREENSHOTS>/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def htmx_settled(page) -> None:
    """Wait until htmx has swapped in the new part of the page and wired it up."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def place_order(page, service, fields: dict[str, str]) -> int:
    """Order ``service`` (a storefront Service) on the order page; the new order's id."""
    page.goto("/order/")
    page.get_by_label("Category").select_option(service.category)
    htmx_settled(page)
    page.locator("#service").select_option(str(service.pk))
    htmx_settled(page)
    expect(page.locator("#order-form")).to_be_visible()
    for name, value in fields.items():
        field = page.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    expect(page.locator("#charge")).to_be_visible()  # the live quote
    page.get_by_role("button", name="Place order").click()
    message = page.get_by_text(re.compile(r"Order #\d+ placed\. Your balance is now"))
    expect(message).to_be_visible()
    return int(re.search(r"#(\d+)", message.inner_text()).group(1))


def sign_up(page, username: str) -> None:
    """Sign up as a visitor does: the form, the mailed link, the confirmation; signed in at the end."""
    page.goto("/accounts/sign-up/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.locator("#id_password1").fill("a-Long-pass-42")
    page.get_by_label("Password confirmation").fill("a-Long-pass-42")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    page.goto(re.search(r"https?://\S+?(/accounts/sign-up/confirm/\S+/)", mail.outbox[-1].body).group(1))
    page.get_by_role("button", name="Confirm and log in").click()
    expect(page.get_by_role("heading", name=f"Hello, {username}")).to_be_visible()
