"""Helpers for the tests that drive a real browser (the ``chromium`` and ``browser_page`` fixtures)."""

import os
import re
from pathlib import Path

from django.conf import settings
from playwright.sync_api import expect

# The README's screenshots are refreshed on demand (SCREENSHOTS=docs/screenshots bin/test …), so that an
# ordinary test run leaves the checkout as it was; otherwise they land under var/.
SCREENSHOTS = Path(settings.BASE_DIR) / os.environ.get("SCREENSHOTS", "var/screenshots")


def shoot(page, name: str) -> None:
    """Save the whole page as <SCREENSHOTS>/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


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
