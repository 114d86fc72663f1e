"""Helpers for the tests that drive a real browser (the ``chromium`` and ``browser_page`` fixtures)."""

import contextlib
import os
import re
from pathlib import Path

from django.conf import settings
from django.core import mail
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

# Screenshots are taken on demand only (SCREENSHOTS=docs/screenshots bin/test … refreshes the README's): a
# whole page as a PNG costs the browser a good part of a second of CPU, for nobody in an ordinary run.
SCREENSHOTS = Path(settings.BASE_DIR) / os.environ["SCREENSHOTS"] if os.environ.get("SCREENSHOTS") else None


# The widths every customer page must fit: a phone's and a laptop's (issue 16).
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def shoot(page, name: str, *, full_page: bool = True) -> None:
    """Save the whole page (or what the window shows: the console's sidebar and bars stay in place) as
    <SCREENSHOTS>/<name>.png, when SCREENSHOTS is set."""
    if SCREENSHOTS is None:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def admin_login(page, username: str, password: str) -> None:
    """Log in on the admin's login page (a code is asked next when two-factor is on)."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


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


def assert_fits(page, path: str, width: int) -> None:
    """``path`` opens and fits ``width``: no sideways scroll of the page or of a table's box."""
    response = page.goto(path)
    assert response.status < 500, f"{path}: {response.status}"
    if not page.url.endswith(path):  # a redirect (a signed-in visitor on the sign-up page): say where to
        path = f"{path} → {page.url}"
    # A phone may settle its scale just after the load on a busy CPU; an overflowing page never settles, and
    # the assertions below say what is wrong.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            f"() => window.innerWidth === {width} && document.documentElement.scrollWidth <= {width}",
            timeout=3_000,
        )
    measured = page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                   viewport: document.querySelector('meta[name=viewport]')?.content,
                   scrolled: [...document.querySelectorAll('.scroll')].filter(e => e.scrollWidth > e.clientWidth)
                             .map(e => e.firstElementChild?.outerHTML.slice(0, 80))})"""
    )
    assert measured["viewport"] == "width=device-width, initial-scale=1", path
    # innerWidth stays the device's: a page wider than the screen would make a phone zoom out.
    assert measured["inner"] == width, f"{path} at {width}px: the layout viewport is {measured['inner']}px"
    assert measured["scroll"] <= measured["inner"], f"{path} at {width}px overflows: {measured}"
    # A table in a scrolling box would hide the overflow from the page: cards fit without scrolling.
    assert not measured["scrolled"], f"{path} at {width}px scrolls sideways in {measured['scrolled']}"
