"""Content-Security-Policy (django-csp): every response carries it, and the storefront (htmx), the admin and
console, Swagger UI and ReDoc all work under it in a real browser, loading nothing from any other host."""

from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import expect

from accounts.services import customer_sign_up
from billing.services import account_for, balance_deposit
from orders.services import order_place
from tests.browser import place_order
from tests.orders.support import data_for, service_of


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
def test_every_kind_of_page_carries_the_policy(client):
    for url in ["/", "/accounts/login/", "/api/v1/docs/", "/api/v1/redoc/", "/admin/login/"]:
        policy = _directives(client.get(url))
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url  # no inline script, no eval, no other host
        assert "'unsafe-inline'" not in policy["style-src"], url
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], url
    # The nonce is there only where a page asked for one (ReDoc's generated styles), fresh each time.
    first, second = (_directives(client.get("/api/v1/redoc/"))["style-src"] for _ in range(2))
    assert first[1].startswith("'nonce-") and first != second
    assert _directives(client.get("/"))["style-src"] == ["'self'"]


class Watch:
    """Everything a browser context reports against the policy, and every request to another host."""

    def __init__(self, context, live_server):
        self.host = urlparse(live_server.url).netloc
        self.violations: list[str] = []
        self.foreign: list[str] = []
        context.expose_binding("reportViolation", lambda source, text: self.violations.append(text))
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => window.reportViolation("
            "`${location.pathname}: ${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`"
            "));"
        )
        context.on("request", self._request)
        context.on("console", self._console)

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.host:
            self.foreign.append(request.url)

    def _console(self, message) -> None:
        # An Alpine attribute of the console's theme that its CSP build cannot evaluate (a global, a
        # statement) is a control that does nothing: counted with the violations.
        if "Content Security Policy" in message.text or "Alpine Expression Error" in message.text:
            self.violations.append(f"{message.page.url if message.page else ''}: {message.text}")

    def visit(self, page, url: str) -> None:
        response = page.goto(url)
        assert response.ok, f"{url}: HTTP {response.status}"


def _signed_in(chromium, live_server, user):
    """A browser context logged in as ``user`` (a session made by the test client, no login form)."""
    client = Client()
    client.force_login(user)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _admin_pages(user, objects: dict) -> list[str]:
    """The list of every model in the admin, its add page where there is one, and the change page of one
    object."""
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = []
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        if first := objects.get(model) or model._default_manager.order_by("pk").first():
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return urls


@pytest.mark.slow
def test_every_face_works_under_the_policy_and_loads_nothing_from_elsewhere(
    transactional_db, chromium, live_server, shop
):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    customer = customer_sign_up(username="cora", email="cora@example.com", password="pw-Secret-123")
    balance_deposit(account=account_for(customer), amount=100)
    order = order_place(user=customer, service=service, data=data_for(service))
    owner = User.objects.create_superuser("root", "root@example.com", "root-pass-42")
    crontab = CrontabSchedule.objects.create(minute="17", hour="3")
    watches = []

    # Anyone: the storefront's public pages, the admin's login, and both API documentations rendered in full.
    context = chromium.new_context(base_url=live_server.url)
    watches.append(watch := Watch(context, live_server))
    page = context.new_page()
    for url in [
        "/",
        "/services/",
        "/api/",
        "/accounts/login/",
        "/accounts/sign-up/",
        "/accounts/password_reset/",
    ]:
        watch.visit(page, url)
    watch.visit(page, "/admin/login/")
    watch.visit(page, "/api/v1/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui .info")).to_contain_text("Reseller panel REST API")
    watch.visit(page, "/api/v1/redoc/")
    expect(page.get_by_role("heading", name="Reseller panel REST API", level=1)).to_be_visible()
    # ReDoc's generated styles applied (its side menu is laid out), not blocked.
    expect(page.locator(".menu-content")).to_have_css("position", "sticky")
    context.close()

    # A customer: every storefront page, the REST API's HTML pages, the live quote (htmx) and the sandbox card
    # payment.
    context, page = _signed_in(chromium, live_server, customer)
    watches.append(watch := Watch(context, live_server))
    for url in [
        "/dashboard/",
        "/order/mass/",
        "/orders/",
        f"/orders/{order.pk}/",
        "/orders/drip-feed/",
        "/orders/subscriptions/",
        "/refills/",
        "/funds/",
        "/account/api/",
        "/accounts/settings/",
        "/accounts/two-factor/",
        "/accounts/two-factor/setup/",
        "/api/v1/orders/",
        f"/api/v1/orders/{order.pk}/",
    ]:
        watch.visit(page, url)
    place_order(page, service, {"link": "https://instagram.com/p/csp", "quantity": str(service.min_quantity)})
    page.goto("/funds/")
    page.get_by_label("Amount").fill("30")
    page.get_by_label("Sandbox card gateway").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Pay", exact=True).click()  # the return page sends itself on (a script)
    expect(page.get_by_text("Payment received: 30.0000 added to your balance.")).to_be_visible()
    context.close()

    # The operator: the console's pages and every page of the admin.
    context, page = _signed_in(chromium, live_server, owner)
    watches.append(watch := Watch(context, live_server))
    watch.visit(page, "/admin/")
    watch.visit(page, "/admin/console/dashboard/")
    expect(page.locator("#money-chart rect").first).to_be_attached()
    watch.visit(page, "/admin/console/review/")
    watch.visit(page, "/admin/django_celery_beat/periodictask/add/")  # its script moved to a file, and works
    page.locator("#id_crontab").select_option(str(crontab.pk))
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: ")
    for url in _admin_pages(owner, {User: customer}):
        watch.visit(page, url)
    context.close()

    violations = [violation for watch in watches for violation in watch.violations]
    assert violations == [], "\n".join(violations)
    assert [url for watch in watches for url in watch.foreign] == []
