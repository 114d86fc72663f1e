import fcntl
import os
import shutil
import signal
import socket
import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from celery.signals import after_task_publish
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test.signals import template_rendered
from django.utils import translation

from api.services import live_keys
from billing.services import account_for, balance_deposit
from catalogue.models import Service
from catalogue.pricing import customer_terms
from catalogue.publishing import services_publish
from content.branding import branding_forget
from orders.models import Order
from panels.catalogue import catalogue_sync
from panels.client import ProviderClient
from panels.models import ProviderService
from panels.services import balance_sync, provider_upsert
from panels.simulator import Simulator, SimulatorServer
from tests import databases, profiles  # noqa: F401 - profiles registers the thorough profile
from tests.builders import order_in
from tests.fakes.nowpayments import FakeNowPayments
from tests.fakes.stripe import FakeStripe
from tests.orders.support import service_of
from tests.running_panel import RunningPanel


def pytest_configure(config):
    # A run started in the background (`bin/test &`, nohup, a CI step) ignores SIGINT, and so would every
    # process it starts: give them Ctrl-C as a terminal does (tests/test_deploy.py presses it).
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items):
    """The slow tests (browsers, second processes: tens of seconds mostly spent waiting) run first, so that the
    parallel workers overlap them with the rest instead of one worker finishing the run alone with them.
    Every worker sorts its collection alike (pytest-xdist requires the same order everywhere)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_sessionstart(session):
    databases.template_build(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    databases.template_hand_over(node.config, node)


def pytest_sessionfinish(session):
    databases.template_drop(session.config)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_blocker):
    """A pytest-xdist worker copies the database its controller migrated (tests/databases.py)."""
    if databases.TEMPLATE not in getattr(request.config, "workerinput", {}):
        request.getfixturevalue("django_db_modify_db_settings_parallel_suffix")
        yield
        return
    with (
        django_db_blocker.unblock(),
        databases.copy_of_the_template(request.config),
        django_db_blocker.block(),
    ):
        yield


@pytest.fixture(scope="session")
def django_db_keepdb(request):
    """A worker's copy is migrated already: pytest-django takes it as it is, as with --reuse-db."""
    return request.config.getvalue("reuse_db") or databases.TEMPLATE in getattr(
        request.config, "workerinput", {}
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Transactional tests' flushes put back the migrated database's rows (tests/databases.py)."""
    with django_db_blocker.unblock():
        baseline = databases.Baseline()
    with databases.flushes_restoring(baseline):
        yield


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in another language (the test client runs it in this thread) leaves that language active, as
    Django leaves it in a server's thread for its next request to replace: the next test starts in English."""
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _branding_of_its_own():
    """The branding is cached outside the database (content.branding): a test's row is rolled back, its
    cached copy would outlive it."""
    branding_forget()
    yield
    branding_forget()


@pytest.fixture(autouse=True)
def _cached_rows_of_its_own():
    """Copies of rows cached by id outside the database (customers' prices, keys): a test's rows are rolled
    back without a word to the cache, and on SQLite the next test's rows take the same ids."""
    customer_terms.forget()
    live_keys.forget()


@pytest.fixture(autouse=True)
def _rate_limits_of_its_own(settings, monkeypatch):
    """Each test its own rate-limit windows (provider budgets, login and API throttles): ids repeat from test
    to test on SQLite, and a budget one test spent is not the next one's. Processes a test starts take the
    namespace from the environment and add their xdist worker's name, as the test settings do."""
    namespace = f"test-{uuid.uuid4().hex}"
    monkeypatch.setenv("RATELIMIT_NAMESPACE", namespace)
    settings.RATELIMIT_NAMESPACE = namespace + os.environ.get("PYTEST_XDIST_WORKER", "")


_rendering = threading.local()


def _render_recording_the_page(template, context):
    """Django's test rendering, recording only the page's own template: the test client copies the context of
    every template it is told about for ``response.context``, and a page of the admin renders thousands (one
    per widget and option) — a quarter of an admin form's rendering time. The page's template holds every
    variable the view gave it; the templates it includes or extends render inside it."""
    if getattr(_rendering, "depth", 0) == 0:
        template_rendered.send(sender=template, template=template, context=context)
    _rendering.depth = getattr(_rendering, "depth", 0) + 1
    try:
        return template.nodelist.render(context)
    finally:
        _rendering.depth -= 1


@pytest.fixture(scope="session", autouse=True)
def _templates_recorded_once_a_page(django_test_environment):
    from django.template.base import Template

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Template, "_render", _render_recording_the_page)
        yield


# --- provider simulator ---------------------------------------------------------------------------


@pytest.fixture
def make_simulator():
    """Start simulators on free loopback ports: ``make_simulator("smmcool", opaque_ids=True)``."""
    servers = []

    def make(dialect: str = "smmcloud", **options) -> SimulatorServer:
        server = SimulatorServer(Simulator(dialect, **options)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def simulator(make_simulator):
    return make_simulator("smmcloud")


# --- providers pointing at simulators ------------------------------------------------------------


@pytest.fixture
def make_provider(db):
    """A Provider row pointing at a running simulator."""

    def make(server, name="Simulated provider", **options):
        options.setdefault("read_timeout", Decimal("5"))
        options.setdefault("calls_per_minute", 10_000)
        provider, _ = provider_upsert(name=name, api_url=server.url, api_key=server.key, **options)
        return provider

    return make


@pytest.fixture
def provider(make_provider, simulator):
    return make_provider(simulator)


# --- a shop selling a simulated provider's services, and a customer ------------------------------------


@pytest.fixture
def synced_provider(make_provider, simulator):
    """A provider with its balance (hence currency) and catalogue synced from the simulator."""
    provider = make_provider(simulator)
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    return provider


@pytest.fixture
def shop(make_provider, make_simulator):
    """A seed provider (smmcloud unless told), balance and catalogue synced, published at +50%."""

    def make(dialect="smmcloud", **options):
        server = make_simulator(dialect, **options)
        provider = make_provider(server, name=dialect)
        balance_sync(provider=provider)
        catalogue_sync(provider=provider)
        services_publish(provider=provider, percent=Decimal(50))
        return server, provider

    return make


@pytest.fixture
def customer(db):
    user = User.objects.create_user("dave")
    balance_deposit(account=account_for(user), amount=Decimal("100"))
    return user


@pytest.fixture
def operator_client(client, db):
    """The test client signed in as a superuser."""
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def placed(shop, customer):
    """Orders of one customer on the smmcloud simulator's shop, in the state asked for:
    ``placed(Order.Status.WAITING, age=timedelta(hours=2), wait_reason="…")`` (tests/builders.py)."""
    server, provider = shop("smmcloud")
    service = service_of(provider, "Default", cancel=True)

    def make(status=Order.Status.QUEUED, age=timedelta(0), **fields):
        return order_in(status, user=customer, service=service, age=age, **fields)

    make.server, make.provider, make.service = server, provider, service
    return make


@pytest.fixture
def make_client():
    """A bare client (no database) with short timeouts and quick retries, recording its calls."""

    def make(server, **options):
        calls = []
        options.setdefault("read_timeout", 1.0)
        options.setdefault("connect_timeout", 1.0)
        options.setdefault("backoff_initial", 0.01)
        options.setdefault("backoff_max", 0.02)
        client = ProviderClient(server.url, server.key, on_call=calls.append, **options)
        client.calls = calls
        return client

    return make


@pytest.fixture
def unused_tcp_port():
    """A loopback port held for the test: bound but not listening, so a connection to it is refused and no
    other process (another xdist worker, another test run) is given it meanwhile. A server the test starts on
    it takes it over: gunicorn and Django's runserver bind with SO_REUSEADDR, as this socket does, which
    Linux allows while nobody listens. A port bound, released, then used could be taken in between."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="session")
def panel_database(tmp_path_factory, worker_id) -> Path:
    """The database ``manage.py migrate`` makes for a panel on its embedded defaults, made once per run for
    every RunningPanel to copy (migrating takes some 15 s of CPU). The pytest-xdist workers share it: the first
    to ask makes it, under a lock, in the run's directory above theirs."""
    run_dir = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_dir = run_dir.parent
    made = run_dir / "migrated-panel"
    with open(run_dir / "migrated-panel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not made.exists():
            making = run_dir / "migrating-panel"
            shutil.rmtree(making, ignore_errors=True)  # a worker that died while making it
            RunningPanel(making, port=0).manage("migrate", "--verbosity", "0")
            making.rename(made)  # whole or not at all
    return made / "panel" / "db.sqlite3"


class Published(NamedTuple):
    task: str
    queue: str
    args: tuple


@pytest.fixture
def published():
    """Every task that reaches the broker, in order: ``Published(task name, queue, args)``."""
    sent = []

    def record(sender=None, routing_key=None, body=None, **_):
        sent.append(Published(sender, routing_key, tuple(body[0])))

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


@pytest.fixture
def eager_celery():
    """Tasks queued with ``delay`` run at once, in the test's thread."""
    from reseller.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def on_sale(db):
    """A service on sale, built directly: for tests where the provider is never called (nothing is sent)."""

    def make(type_name="Default", *, min_quantity=10, max_quantity=10_000, price="2.0000", **flags):
        provider, _ = provider_upsert(
            name="Offline provider", api_url="http://127.0.0.1:9/api/v2", api_key="offline-key-0123456789"
        )
        upstream = ProviderService.objects.create(
            provider=provider,
            remote_id=str(ProviderService.objects.count() + 1),
            name=f"{type_name} upstream",
            type=type_name,
            category="Instagram",
            rate=Decimal("1"),
            min_quantity=min_quantity,
            max_quantity=max_quantity,
            **flags,
        )
        return Service.objects.create(
            name=f"{type_name} service",
            category="Instagram",
            type=type_name,
            provider_service=upstream,
            min_quantity=min_quantity,
            max_quantity=max_quantity,
            price=Decimal(price),
        )

    return make


# --- a real browser ------------------------------------------------------------------------------------

# Debian's chromium-headless-shell: Chromium's headless-only build (the one Playwright itself runs headless),
# which spends about 40 % less CPU on a page than the full browser in its headless mode.
CHROMIUM = shutil.which("chromium-headless-shell")


@pytest.fixture(scope="session")
def chromium():
    if CHROMIUM is None:
        pytest.fail(
            "Debian's chromium-headless-shell is needed for the browser tests: apt-get install chromium-headless-shell"
        )
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (Playwright's own default is 5 s): on a loaded machine a page
    # posted to the live server may take longer than that to come back, and a test must not fail for it.
    expect.set_options(timeout=15_000)

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# --- payment processors ----------------------------------------------------------------------------------


@pytest.fixture
def stripe(settings):
    """The local Stripe, enabled as the panel's card processor."""
    with FakeStripe() as fake:
        settings.PAYMENT_GATEWAYS = ["stripe"]
        settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = fake.secret_key, fake.webhook_secret
        settings.STRIPE_API_BASE = fake.url
        yield fake


@pytest.fixture
def nowpayments(settings):
    """The local NOWPayments, enabled as the panel's crypto processor."""
    with FakeNowPayments() as fake:
        settings.PAYMENT_GATEWAYS = ["nowpayments"]
        settings.NOWPAYMENTS_API_KEY, settings.NOWPAYMENTS_IPN_SECRET = fake.api_key, fake.ipn_secret
        settings.NOWPAYMENTS_API_BASE = fake.url
        yield fake
