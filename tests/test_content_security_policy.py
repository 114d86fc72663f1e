"""Content-Security-Policy (django-csp): every response carries it, and the storefront (htmx), the admin and
console, Swagger UI and ReDoc all work under it in a real browser, loading nothing from any other host."""

import re
from html.parser import HTMLParser
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


# Elements and attributes through which a page makes the browser load something.
LOADS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src", "embed": "src"}
SCRIPT_TYPES = {"", "text/javascript", "module", "application/javascript"}


class PageReading(HTMLParser):
    """What the policy would block, read from a page's HTML (inline scripts, style attributes and elements,
    event handler attributes, ``javascript:`` links, loads from another host), and the page's *behaviour
    signature*: the scripts and style sheets it loads and the shapes of its Alpine and htmx attributes (their
    quoted strings, numbers and booleans blanked) — two pages alike in these run the same code the same way."""

    def __init__(self, path: str, host: str):
        super().__init__()
        self.path, self.host = path, host
        self.blocked: list[str] = []
        self.loads: set[str] = set()
        self.directives: set[tuple[str, str]] = set()
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "script" and not found.get("src"):
            self._inline_script = (found.get("type") or "").lower() in SCRIPT_TYPES
        if tag == "style" and not found.get("nonce"):
            self.blocked.append(f"{self.path}: a <style> element without the nonce")
        if url := found.get(LOADS.get(tag, "")):
            self.loads.add(f"{tag}:{url}")
            if urlparse(url).netloc not in ("", self.host):
                self.blocked.append(f"{self.path}: loads {url} from another host")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"{self.path}: an inline {name}= attribute on <{tag}>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.blocked.append(f"{self.path}: a javascript: URL in {name}=")
            elif name.startswith(("x-", "@", ":", "hx-")):
                shape = re.sub(r"\b(true|false|\d+)\b", "L", re.sub(r"'[^']*'|\"[^\"]*\"", "S", value or ""))
                self.directives.add((name, shape))

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.blocked.append(f"{self.path}: an inline script")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False

    @property
    def signature(self) -> tuple:
        return frozenset(self.loads), frozenset(self.directives)


def test_the_page_reading_finds_what_the_policy_would_block():
    reading = PageReading("/p/", "panel.test")
    reading.feed(
        '<script>alert(1)</script><script type="application/json">{"a": 1}</script><script src="/s.js"></script>'
        '<style>p {}</style><style nonce="n">p {}</style><p style="color: red" onclick="go()">x</p>'
        '<a href="javascript:go()">y</a><img src="https://cdn.example/i.png"><a href="https://elsewhere.example/">z</a>'
    )
    assert reading.blocked == [
        "/p/: an inline script",
        "/p/: a <style> element without the nonce",
        "/p/: an inline style= attribute on <p>",
        "/p/: an inline onclick= attribute on <p>",
        "/p/: a javascript: URL in href=",
        "/p/: loads https://cdn.example/i.png from another host",
    ]

    def signature(html):
        reading = PageReading("/p/", "panel.test")
        reading.feed(html)
        return reading.signature

    # Alike but for the values in their Alpine attributes; unlike in a script or in an expression's shape.
    page = '<script src="/a.js"></script><div x-data="{open: %s}" x-on:click="tab = \'%s\'"></div>'
    assert signature(page % ("false", "one")) == signature(page % ("true", "two"))
    assert signature(page % ("false", "one")) != signature(page.replace("/a.js", "/b.js") % ("false", "one"))
    assert signature(page % ("false", "one")) != signature(page % ("false || go()", "one"))


def _pages_by_behaviour(client, urls: list[str], host: str) -> tuple[list[str], list[str]]:
    """Read every page through ``client``: (what the policy would block on any of them, one page of each
    behaviour signature for the browser to run)."""
    blocked, first_of = [], {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
        reading = PageReading(url, host)
        reading.feed(response.content.decode())
        blocked += reading.blocked
        first_of.setdefault(reading.signature, url)
    return blocked, list(first_of.values())


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

    # The operator: the console's pages and every page of the admin — each read for what the policy would
    # block, and run in the browser once for each behaviour signature (86 pages, 36 signatures today).
    context, page = _signed_in(chromium, live_server, owner)
    watches.append(watch := Watch(context, live_server))
    watch.visit(page, "/admin/")
    watch.visit(page, "/admin/console/dashboard/")
    expect(page.locator("#money-chart rect").first).to_be_attached()
    watch.visit(page, "/admin/console/review/")
    watch.visit(page, "/admin/django_celery_beat/periodictask/add/")  # its script moved to a file, and works
    page.locator("#id_crontab").select_option(str(crontab.pk))
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: ")
    operator = Client()
    operator.force_login(owner)
    admin_pages = _admin_pages(owner, {User: customer})
    blocked, to_run = _pages_by_behaviour(operator, admin_pages, watch.host)
    assert len(to_run) < len(admin_pages)
    for url in to_run:
        watch.visit(page, url)
    context.close()

    violations = [violation for watch in watches for violation in watch.violations] + blocked
    assert violations == [], "\n".join(violations)
    assert [url for watch in watches for url in watch.foreign] == []
