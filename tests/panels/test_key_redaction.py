"""A provider that quotes our key back — in error texts, per-id errors of multi answers, a redirect target,
HTML error pages, a service name — never gets it stored or shown: not in the database, the admin, messages,
command output, logs or mail."""

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from urllib.parse import quote, quote_plus

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import models

from orders.models import Order, Refill
from orders.refills import refill_request, refill_send
from orders.services import order_cancel, order_cancel_send, order_place, order_submit, orders_sync_statuses
from panels.catalogue import catalogue_sync
from panels.client import (
    EXCERPT_CHARS,
    REDACTED,
    ProviderClient,
    ProviderError,
    ProviderRejected,
    secret_redactor,
)
from panels.models import Provider
from panels.services import provider_upsert
from tests.orders.support import service_of, settle

# Characters that percent-encoding changes, and letters whose case a provider might change.
KEY = "Echo/Key+0123456789=abc&DEF"
WRONG_KEY = "Wrong/Key+9876543210=xyz&QRS"


def leaks(text: str, *keys: str) -> list[str]:
    """The forms of ``keys`` found in ``text``: verbatim or percent-encoded, in any letter case."""
    lowered = text.lower()
    forms = {form for key in keys for form in (key, quote(key, safe=""), quote_plus(key))}
    return sorted(form for form in forms if form.lower() in lowered)


def test_the_redactor_removes_the_key_verbatim_encoded_and_in_any_case():
    redact = secret_redactor(KEY)
    text = f"bad key {KEY}; /?key={quote_plus(KEY)}&k={quote(KEY, safe='')}; {KEY.upper()} {KEY.lower()}"
    assert redact(text) == f"bad key {REDACTED}; /?key={REDACTED}&k={REDACTED}; {REDACTED} {REDACTED}"
    assert secret_redactor("")("nothing to hide") == "nothing to hide"


def test_the_client_redacts_every_text_it_returns_or_raises(make_simulator):
    server = make_simulator(echo_key_in_errors=True, api_key=KEY)
    server.sim.set_service(1, name=f"Followers {KEY}")
    client = ProviderClient(server.url, KEY, backoff_initial=0.01)
    names = [service.name for service in client.services().services]
    assert f"Followers {REDACTED}" in names and not leaks(repr(names), KEY)
    statuses = client.statuses(["424242"])  # {"424242": {"error": "Incorrect order ID (key …)"}}
    assert not leaks(repr(statuses), KEY) and REDACTED in statuses["424242"].message
    with pytest.raises(ProviderRejected) as caught:
        ProviderClient(server.url, WRONG_KEY, backoff_initial=0.01).balance()
    assert str(caught.value) == f"The provider said: Invalid API key (key {REDACTED})"


def test_the_call_log_excerpt_is_cut_after_redaction_never_keeping_half_a_key(make_simulator, make_client):
    server = make_simulator(api_key=KEY)
    server.sim.set_service(1, name="MARK")
    before_name = json.dumps(server.sim.services_list()).index("MARK")
    # The key starts 10 characters before the excerpt's cut.
    server.sim.set_service(1, name="x" * (EXCERPT_CHARS - 10 - before_name) + KEY)
    client = make_client(server)
    client.services()
    excerpt = client.calls[-1].response_excerpt
    assert excerpt.endswith("x" + REDACTED[:10]) and len(excerpt) == EXCERPT_CHARS
    assert KEY[:10] not in excerpt


@pytest.fixture
def raw_provider():
    """A provider on a loopback port that answers every call with the bytes ``answers[0]`` holds."""
    answers = [b""]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            status, content_type, body, *broken_off = answers[0]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if not broken_off:  # else no length: the answer ends where the connection closes
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v2", answers
    server.shutdown()
    server.server_close()


def test_the_key_escaped_as_php_json_or_html_writes_it_is_redacted_too(raw_provider):
    """The call log quotes the raw body: PHP's json_encode writes "/" as "\\/", an HTML page "&" as "&amp;"."""
    url, answers = raw_provider
    calls = []
    client = ProviderClient(url, KEY, attempts=1, on_call=calls.append)
    php = json.dumps({"error": f"Invalid key {KEY}"}).replace("/", "\\/")
    page = f"<html><body><p>No panel for key {html.escape(KEY)}</p></body></html>"
    for status, content_type, body in [(200, "application/json", php), (500, "text/html", page)]:
        answers[0] = (status, content_type, body.encode())
        with pytest.raises(ProviderError) as caught:
            client.balance()
        assert not leaks(str(caught.value), KEY)
    assert [REDACTED in call.response_excerpt for call in calls] == [True, True]
    excerpts = " ".join(call.response_excerpt for call in calls)
    assert "Echo" not in excerpts and "0123456789" not in excerpts


def test_an_answer_that_breaks_off_in_the_middle_of_the_key_leaves_no_start_of_it(raw_provider):
    url, answers = raw_provider
    calls = []
    client = ProviderClient(url, KEY, attempts=1, on_call=calls.append)
    whole = json.dumps({"error": f"Invalid key {KEY}"}).encode()
    broken = whole[: whole.index(b"0123456789") + 6]  # "...Echo/Key+012345": the connection drops
    answers[0] = (200, "application/json", broken, "broken off")
    with pytest.raises(ProviderError):
        client.balance()
    (call,) = calls
    assert call.response_excerpt == '{"error": "Invalid key ' + REDACTED


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def test_a_provider_echoing_the_key_leaves_it_nowhere(
    shop, customer, superuser_client, caplog, eager_celery, django_capture_on_commit_callbacks
):
    caplog.set_level("DEBUG")
    server, provider = shop(echo_key_in_errors=True, api_key=KEY)
    sim = server.sim
    service = service_of(provider, "Default", refill=True, cancel=True)
    remote_id = service.provider_service.remote_id
    shown: list[str] = []  # every text an operator was shown along the way

    def place(link):
        order = order_place(
            user=customer, service=service, data={"link": link, "quantity": str(service.min_quantity)}
        )
        with django_capture_on_commit_callbacks(execute=True):  # alerts go once the outcome commits
            order_submit(order_id=order.pk)
        order.refresh_from_db()
        return order

    # Orders: accepted; refused for now (a wait reason); out of funds (an alert by mail); refused for good
    # (a refund's reason); no valid answer (the review queue); unknown to the provider (a multi answer).
    accepted = place("https://x.example/one")
    assert place("https://x.example/one").status == Order.Status.WAITING
    sim.set_balance(0)
    assert place("https://x.example/funds").status == Order.Status.WAITING
    sim.set_balance(1000)
    sim.remove_service(remote_id)
    assert place("https://x.example/gone").status == Order.Status.FAILED
    sim.restore_service(remote_id)
    sim.set_fault("http_500", action="add", times=1)
    assert place("https://x.example/lost").status == Order.Status.NEEDS_REVIEW
    unknown = place("https://x.example/unknown")
    Order.objects.filter(pk=unknown.pk).update(provider_order_id="424242")
    orders_sync_statuses(provider=provider)

    # A cancel and a refill the provider refuses.
    sim.set_service(remote_id, cancel=False, refill=False)
    order_cancel(order=accepted)
    order_cancel_send(order_id=accepted.pk)
    settle(server, provider, accepted)
    refill = refill_request(order=accepted)
    refill_send(refill_id=refill.pk)
    assert Refill.objects.get(pk=refill.pk).status == Refill.Status.REJECTED

    # Catalogue and balance syncs from the admin and the command line: a redirect whose target carries the
    # key, HTML pages quoting it, a service named after it, and a provider told the wrong key.
    sim.set_service(2, name=f"Likes {KEY}")
    catalogue_sync(provider=provider)
    wrong, _ = provider_upsert(
        name="Wrong key", api_url=server.url, api_key=WRONG_KEY, read_timeout=1, calls_per_minute=10_000
    )
    providers = "/admin/panels/provider/"
    for fault, action in [
        ("redirect", "test_connection"),
        ("http_502", "sync_balance"),
        ("html", "sync_catalogue"),
    ]:
        sim.set_fault(fault)
        page = superuser_client.post(
            providers, {"action": action, "_selected_action": [provider.pk, wrong.pk]}, follow=True
        )
        shown.append(page.content.decode())
        sim.clear_faults()
    for name, fault in [(provider.name, "redirect"), (provider.name, "cloudflare"), (wrong.name, None)]:
        if fault:
            sim.set_fault(fault)
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("syncprovider", name, stdout=out, stderr=err)
        shown += [str(caught.value), out.getvalue(), err.getvalue()]
        sim.clear_faults()
    assert "redirects this URL (HTTP 301) to 'https://moved.example/api/v2?key=" in " ".join(shown)

    # Every page of the admin an operator may open about providers, orders and money.
    for model in admin.site._registry:
        if model._meta.app_label not in {"panels", "orders", "billing"}:
            continue
        changelist = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        shown.append(superuser_client.get(changelist).content.decode())
        for pk in model.objects.values_list("pk", flat=True)[:30]:
            page = superuser_client.get(f"{changelist}{pk}/change/")
            assert page.status_code == 200, (changelist, pk)
            shown.append(page.content.decode())
    shown.append(superuser_client.get("/admin/console/review/").content.decode())
    shown.append(superuser_client.get("/admin/console/dashboard/").content.decode())

    stored = [
        f"{model.__name__}.{field.name}: {value}"
        for model in apps.get_models()
        if model._meta.app_label in {"panels", "orders", "billing", "api"}
        for field in model._meta.fields
        if isinstance(field, models.CharField | models.TextField | models.JSONField)
        and (model, field.name) != (Provider, "api_key")  # the key itself, encrypted at rest
        for value in model.objects.values_list(field.name, flat=True)
        if value
    ]
    mails = [f"{message.subject} {message.body}" for message in mail.outbox]
    assert mails, "the out-of-funds alert was mailed"
    logged = [caplog.text, *(record.getMessage() for record in caplog.records)]
    found = {
        where: [(text[:300], leaks(text, KEY, WRONG_KEY)) for text in texts if leaks(text, KEY, WRONG_KEY)]
        for where, texts in [("shown", shown), ("stored", stored), ("mailed", mails), ("logged", logged)]
    }
    assert found == {"shown": [], "stored": [], "mailed": [], "logged": []}
    assert any("Likes" in text and REDACTED in text for text in stored)  # the hostile name, redacted
