"""The storefront in a real browser (Playwright driving Debian's chromium-headless-shell) against a live server.

The journey of issue 5: sign up, funds approved by an operator in the admin, orders of several types with the
live quote, statuses moving on the simulator's clock, a refill, a cancel, a partial, and the refunds in the
balance and the history. Also the mass order and the sandbox card gateway. Screenshots of the main pages go
to SCREENSHOTS (tests/browser.py).
"""

import re
import threading

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalogue.models import Service
from orders.models import Order
from orders.services import order_submit, orders_sync_statuses
from storefront import views as storefront_views
from tests.browser import htmx_settled, place_order, shoot, sign_up

pytestmark = pytest.mark.slow


def add_manual_funds_approved_in_admin(page, chromium, live_server, amount: str) -> None:
    page.goto("/funds/")
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Manual payment").check()
    page.get_by_label("Payment reference").fill("BANK-2026-001")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("we credit your balance as soon as we see your payment")).to_be_visible()

    User.objects.create_superuser("boss", "boss@example.com", "boss-pass-42")
    operator = chromium.new_context(base_url=live_server.url).new_page()
    operator.goto("/admin/login/?next=/admin/billing/topup/")
    operator.get_by_label("Username").fill("boss")
    operator.get_by_label("Password").fill("boss-pass-42")
    operator.get_by_role("button", name="Log in").click()
    operator.locator("input[name=_selected_action]").first.check()
    operator.locator("select[name=action]").select_option("approve")
    operator.get_by_role("button", name="Run").click()
    operator.get_by_role("button", name="Credit the balances").click()  # after reading who gets what
    expect(operator.get_by_text("1 payment(s) credited")).to_be_visible()
    operator.context.close()


def settle(server, provider, steps: int = 6) -> None:
    for order_id in Order.objects.filter(status=Order.Status.QUEUED).values_list("pk", flat=True):
        order_submit(order_id=order_id)
    for _ in range(steps):
        server.sim.advance()
        orders_sync_statuses(provider=provider)


def test_customer_journey_in_a_browser(transactional_db, browser_page, chromium, live_server, shop):
    page = browser_page
    server, provider = shop("smmcloud")
    page.goto("/")
    shoot(page, "storefront-landing")
    page.goto("/services/")
    expect(page.get_by_role("heading", name="Services and prices")).to_be_visible()
    shoot(page, "storefront-services")

    sign_up(page, "mia")
    add_manual_funds_approved_in_admin(page, chromium, live_server, "50")
    page.goto("/funds/")
    expect(page.locator("#funds-balance")).to_have_text("50.0000 USD")

    refillable = Service.objects.filter(
        provider_service__provider=provider, type="Default", refill=True
    ).first()
    cancelable = (
        Service.objects.filter(provider_service__provider=provider, type="Default", cancel=True)
        .exclude(pk=refillable.pk)
        .first()
    )
    comments = Service.objects.filter(provider_service__provider=provider, type="Custom Comments").first()
    subscription = Service.objects.filter(provider_service__provider=provider, type="Subscriptions").first()
    to_refill = place_order(
        page, refillable, {"link": "https://instagram.com/p/one", "quantity": str(refillable.min_quantity)}
    )
    to_partial = place_order(
        page,
        comments,
        {
            "link": "https://instagram.com/p/two",
            "comments": "\n".join(f"Nice {n}" for n in range(comments.min_quantity)),
        },
    )
    place_order(
        page,
        subscription,
        {
            "username": "mia_official",
            "min": str(subscription.min_quantity),
            "max": str(subscription.min_quantity),
            "delay": "0",
            "posts": "2",
        },
    )
    page.goto("/order/")
    page.get_by_label("Category").select_option(cancelable.category)
    htmx_settled(page)
    page.locator("#service").select_option(str(cancelable.pk))
    htmx_settled(page)
    page.locator("[name=link]").fill("https://instagram.com/p/three")
    page.locator("[name=quantity]").fill(str(cancelable.min_quantity))
    expect(page.locator("#charge")).to_be_visible()
    shoot(page, "storefront-new-order")
    page.get_by_role("button", name="Place order").click()
    to_cancel = int(re.search(r"/orders/(\d+)/", page.url).group(1))

    # Canceled before it is sent: refunded at once, and the refund is in the history and the balance.
    balance_before = Order.objects.get(pk=to_cancel).user.account.balance
    page.get_by_role("button", name="Cancel the order").click()
    expect(page.get_by_text("Canceled and refunded.")).to_be_visible()
    charge = Order.objects.get(pk=to_cancel).charge
    expect(page.locator("ol.history")).to_contain_text(f"Refunded {charge}.")
    expect(page.locator("#header-balance")).to_have_text(f"{balance_before + charge} USD")

    # The simulator's clock moves: one order completes, one ends partial.
    settle(server, provider, steps=0)
    server.sim.set_fate(Order.objects.get(pk=to_partial).provider_order_id, "partial", remains=2)
    settle(server, provider)
    page.goto(f"/orders/{to_partial}/")
    expect(page.locator("#order-status")).to_have_text("Partial")
    partial = Order.objects.get(pk=to_partial)
    expect(page.locator("#refunded")).to_have_text(f"{partial.refunded} USD")
    expect(page.locator("ol.history")).to_contain_text(f"Refunded {partial.refunded}.")

    page.goto(f"/orders/{to_refill}/")
    expect(page.locator("#order-status")).to_have_text("Completed")
    shoot(page, "storefront-order")
    page.get_by_role("button", name="Request a refill").click()
    expect(page.get_by_text("Refill requested: it is on its way")).to_be_visible()
    expect(page.get_by_role("button", name="Request a refill")).to_have_count(0)

    page.goto("/orders/")
    expect(page.locator("tr[data-order]")).to_have_count(4)
    page.get_by_role("link", name="Partial").click()
    expect(page.locator("tr[data-order]")).to_have_count(1)
    page.goto("/orders/")
    shoot(page, "storefront-orders")
    page.goto("/funds/")
    expect(page.locator("table.ledger")).to_contain_text("Refund")
    shoot(page, "storefront-funds")
    page.goto("/dashboard/")
    shoot(page, "storefront-dashboard")

    # The same pages work on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/orders/{to_partial}/")
    expect(page.locator("#order-status")).to_be_visible()
    shoot(page, "storefront-phone-order")


def test_mass_order_and_sandbox_gateway_in_a_browser(transactional_db, browser_page, shop):
    page = browser_page
    _, provider = shop("smmcloud")
    sign_up(page, "max")

    page.goto("/funds/")
    page.get_by_label("Amount").fill("30")
    page.get_by_label("Sandbox card gateway").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Pay 30.0000 USD")).to_be_visible()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_text("Payment received: 30.0000 added to your balance.")).to_be_visible()
    expect(page.locator("#funds-balance")).to_have_text("30.0000 USD")

    service = Service.objects.filter(provider_service__provider=provider, type="Default").first()
    page.goto("/order/mass/")
    page.get_by_label("Orders").fill(
        f"{service.pk}|https://example.com/a|{service.min_quantity}\n"
        f"{service.pk}|https://example.com/b|1\n"
        "nonsense line"
    )
    page.get_by_role("button", name="Place orders").click()
    expect(page.get_by_role("heading", name="1 accepted, 2 refused")).to_be_visible()
    expect(page.locator("ul.refused")).to_contain_text(f"The minimum is {service.min_quantity}")
    shoot(page, "storefront-mass-order")
    assert Order.objects.count() == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_double_clicked_order_button_places_one_order(
    transactional_db, chromium, live_server, on_sale, make_customer, monkeypatch, javascript
):
    """With JavaScript the button is disabled once clicked; without it both clicks reach the server, whose
    one-time form token places the order once (the second request lands on the first order's page)."""
    service = on_sale()
    customer = make_customer("dora")
    place = storefront_views.order_place
    first_placing, second_click_done = threading.Event(), threading.Event()

    def slow_place(**kwargs):
        # The first request holds its form token (the second will wait on it in the database) and waits for the
        # second click (and, without JavaScript, for its request to leave the browser): the page still shows
        # the form when the second click comes, and the first request is the one that places, at any load.
        first_placing.set()
        second_click_done.wait(30)
        return place(**kwargs)

    monkeypatch.setattr(storefront_views, "order_place", slow_place)
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/order/?service={service.pk}")
    page.locator("[name=link]").fill("https://instagram.com/p/twice")
    page.locator("[name=quantity]").fill("10")
    button = page.get_by_role("button", name="Place order")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def order_posted(request):
        return request.method == "POST" and request.url.endswith("/order/")

    with page.expect_request(order_posted):
        page.mouse.click(x, y)
    assert first_placing.wait(15)
    if javascript:
        page.mouse.click(x, y)  # the double click's second, once the first request has left: disabled
    else:
        with page.expect_request(order_posted):
            page.mouse.click(x, y)
    second_click_done.set()
    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))  # the first navigation was aborted by the second
    expect(page.locator("#order-status")).to_be_visible()
    order = Order.objects.get()
    assert page.url.endswith(f"/orders/{order.pk}/")
    if not javascript:  # the page shows the second request's answer
        expect(
            page.get_by_text(f"This form was already sent: order #{order.pk} was placed once")
        ).to_be_visible()
    context.close()
    assert customer.account.ledger.filter(kind="charge").count() == 1
