"""The Stripe processor over the real ``stripe`` library against the local fake: a Checkout Session asked for in
the currency's minor units, failures told as ProcessorUnavailable without the key, every webhook event read
into our terms only when Stripe's signature verifies, and the fake's hosted page delivering a signed event."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from billing.processors.base import NotificationRefused, PaymentEvent, ProcessorUnavailable
from billing.processors.stripe import StripeProcessor
from tests.fakes.stripe import FakeStripe

URLS = {"success_url": "https://panel.test/funds/?paid=1", "cancel_url": "https://panel.test/funds/"}


class _Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint that keeps what it is sent."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake(settings, receiver):
    with FakeStripe(
        webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/payments/stripe/notify/"
    ) as fake:
        settings.STRIPE_SECRET_KEY = fake.secret_key
        settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
        settings.STRIPE_API_BASE = fake.url
        yield fake


def start(amount="10.50", currency="USD", topup_id=7):
    return StripeProcessor().start(
        topup_id=topup_id,
        amount=Decimal(amount),
        currency=currency,
        description=f"Balance top-up #{topup_id}",
        notify_url="https://panel.test/payments/stripe/notify/",
        **URLS,
    )


def parse(body, headers):
    return StripeProcessor().parse_notification(body=body, headers=headers)


@pytest.mark.parametrize(
    ("amount", "currency", "sent_units", "sent_currency"),
    [
        ("10.50", "USD", "1050", "usd"),
        ("0.99", "eur", "99", "eur"),
        ("500", "JPY", "500", "jpy"),  # zero-decimal: yen are sent as they are
        ("1.25", "KWD", "1250", "kwd"),  # three-decimal
    ],
)
def test_start_creates_a_checkout_session_in_minor_units(fake, amount, currency, sent_units, sent_currency):
    checkout = start(amount, currency, topup_id=42)

    assert checkout.reference.startswith("cs_test_")
    assert checkout.redirect_url == f"{fake.url}/pay/{checkout.reference}"
    method, path, form = fake.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert form["mode"] == "payment"
    assert form["line_items"] == [
        {
            "quantity": "1",
            "price_data": {
                "currency": sent_currency,
                "unit_amount": sent_units,
                "product_data": {"name": "Balance top-up #42"},
            },
        }
    ]
    assert form["client_reference_id"] == "42"
    assert form["metadata"] == {"topup": "42"}
    assert form["payment_intent_data"] == {"metadata": {"topup": "42"}}
    assert (form["success_url"], form["cancel_url"]) == (URLS["success_url"], URLS["cancel_url"])
    assert fake.session(checkout.reference)["amount_total"] == int(sent_units)


@pytest.mark.parametrize(("amount", "currency"), [("10.005", "USD"), ("500.5", "JPY"), ("1.255", "KWD")])
def test_an_amount_finer_than_the_minor_unit_is_never_rounded_silently(fake, amount, currency):
    with pytest.raises(ValueError, match="Stripe"):
        start(amount, currency)
    assert fake.requests == []


def test_a_wrong_key_is_unavailable_and_the_message_never_shows_the_key(fake, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_a_wrong_key_that_must_not_leak_9876"

    with pytest.raises(ProcessorUnavailable) as refused:
        start()

    assert "HTTP 401" in str(refused.value)
    assert settings.STRIPE_SECRET_KEY not in str(refused.value)
    assert fake.sessions == {}


def test_stripe_down_or_failing_is_unavailable(fake, settings):
    fake.api_failure = 500
    with pytest.raises(ProcessorUnavailable, match="HTTP 500") as failing:
        start()
    fake.stop()
    with pytest.raises(ProcessorUnavailable, match="APIConnectionError") as down:
        start()

    for error in (failing.value, down.value):
        assert settings.STRIPE_SECRET_KEY not in str(error)


def test_without_settings_stripe_neither_starts_nor_reads(fake, settings):
    body, headers = fake.complete(start().reference)
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""

    with pytest.raises(ProcessorUnavailable, match="Stripe is not configured"):
        start()
    with pytest.raises(NotificationRefused):
        parse(body, headers)
    assert len(fake.requests) == 1


def event_from(fake, make, *args, **kwargs) -> PaymentEvent:
    body, headers = make(*args, **kwargs)
    [event] = parse(body, headers)
    assert event.event_id == json.loads(body)["id"]
    return event


def test_a_paid_checkout_reads_as_paid_in_major_units(fake):
    session_id = start("10.50", "USD", topup_id=7).reference
    payment_intent = fake.session(session_id)["payment_intent"]

    event = event_from(fake, fake.complete, session_id)

    assert event == PaymentEvent(
        event_id=event.event_id,
        kind="paid",
        topup_id=7,
        reference=session_id,
        payment_reference=payment_intent,
        amount=Decimal("10.50"),
        currency="USD",
        raw_status="checkout.session.completed/paid",
    )


def test_a_zero_decimal_payment_reads_as_it_was_paid(fake):
    event = event_from(fake, fake.complete, start("500", "JPY").reference)
    assert (event.kind, event.amount, event.currency) == ("paid", Decimal(500), "JPY")


def test_a_delayed_payment_is_pending_then_paid_or_failed(fake):
    paid_later, failed_later = start(topup_id=1).reference, start(topup_id=2).reference

    pending = event_from(fake, fake.complete, paid_later, paid=False)
    succeeded = event_from(fake, fake.settle, paid_later, succeeded=True)
    event_from(fake, fake.complete, failed_later, paid=False)
    failed = event_from(fake, fake.settle, failed_later, succeeded=False)

    assert (pending.kind, pending.amount, pending.topup_id) == ("pending", Decimal(0), 1)
    assert (succeeded.kind, succeeded.amount, succeeded.reference) == ("paid", Decimal("10.50"), paid_later)
    assert (failed.kind, failed.amount, failed.topup_id) == ("failed", Decimal(0), 2)


def test_an_expired_session_reads_as_expired(fake):
    session_id = start(topup_id=9).reference
    event = event_from(fake, fake.expire, session_id)
    assert (event.kind, event.topup_id, event.reference, event.amount) == (
        "expired",
        9,
        session_id,
        Decimal(0),
    )


def test_refunds_and_disputes_name_the_payment_and_the_amount_taken_back(fake):
    session_id = start("10.50", "USD", topup_id=7).reference
    event_from(fake, fake.complete, session_id)
    payment_intent = fake.session(session_id)["payment_intent"]

    first = event_from(fake, fake.refund, session_id, Decimal("2.00"))
    second = event_from(fake, fake.refund, session_id, Decimal("3.00"))
    dispute = event_from(fake, fake.dispute, session_id)

    assert (first.kind, first.amount, first.currency, first.topup_id) == (
        "refunded",
        Decimal("2.00"),
        "USD",
        7,
    )
    # Stripe's amount_refunded is the charge's running total, not this refund alone.
    assert second.amount == Decimal("5.00")
    assert first.payment_reference == second.payment_reference == payment_intent
    assert first.reference == ""
    assert (dispute.kind, dispute.amount, dispute.payment_reference) == (
        "disputed",
        Decimal("10.50"),
        payment_intent,
    )
    assert dispute.topup_id is None
    assert first.event_id != second.event_id


def test_events_the_core_does_not_act_on_are_left_out(fake):
    body, headers = fake.event("payment_intent.created", {"id": "pi_test_1", "object": "payment_intent"})
    assert parse(body, headers) == []


def test_the_signature_header_is_found_whatever_its_case(fake):
    body, headers = fake.complete(start().reference)
    assert parse(body, {"stripe-signature": headers["Stripe-Signature"]})[0].kind == "paid"


def signed(fake, body: bytes, **kwargs) -> dict:
    return {"Stripe-Signature": fake.sign(body, **kwargs)}


def refused_cases(fake, session_id):
    body, headers = fake.complete(session_id)
    tampered = body.replace(b'"amount_total": 1050', b'"amount_total": 105000')
    assert tampered != body
    return {
        "another secret": (body, signed(fake, body, secret="whsec_somebody_else")),
        "tampered amount": (tampered, headers),
        "stale timestamp": (body, signed(fake, body, timestamp=int(time.time()) - 301)),
        "no header": (body, {}),
        "empty header": (body, {"Stripe-Signature": ""}),
        "garbled header": (body, {"Stripe-Signature": "v1=abc,t=soon"}),
        "no v1 signature": (body, {"Stripe-Signature": f"t={int(time.time())}"}),
        "not JSON": (b"<xml>paid</xml>", signed(fake, b"<xml>paid</xml>")),
        "not UTF-8": (b"\xff\xfe{}", {"Stripe-Signature": "t=1,v1=00"}),
        "a JSON list": (b"[]", signed(fake, b"[]")),
        "not an event": (b'{"id": "evt_1"}', signed(fake, b'{"id": "evt_1"}')),
        "a session without amount": (
            *fake.event("checkout.session.completed", {"id": "cs_1", "payment_status": "paid"}),
        ),
    }


def test_notifications_that_do_not_verify_or_read_are_refused(fake):
    for case, (body, headers) in refused_cases(fake, start().reference).items():
        with pytest.raises(NotificationRefused) as refused:
            parse(body, headers)
        assert fake.webhook_secret not in str(refused.value), case


def test_the_hosted_page_pays_delivers_a_signed_event_and_returns_the_customer(fake, receiver):
    session_id = start("10.50", "USD", topup_id=7).reference
    page = requests.get(f"{fake.url}/pay/{session_id}", timeout=5)
    assert page.status_code == 200
    assert "10.50 USD" in page.text
    assert ">Pay</button>" in page.text
    assert ">Cancel</button>" in page.text

    paid = requests.post(f"{fake.url}/pay/{session_id}/pay", allow_redirects=False, timeout=5)

    assert paid.status_code == 303
    assert paid.headers["Location"] == URLS["success_url"]
    [(body, headers)] = receiver.received
    [event] = parse(body, headers)
    assert (event.kind, event.topup_id, event.reference, event.amount) == (
        "paid",
        7,
        session_id,
        Decimal("10.50"),
    )
    assert fake.deliveries == [("checkout.session.completed", 200)]
    again = requests.post(f"{fake.url}/pay/{session_id}/pay", allow_redirects=False, timeout=5)
    assert again.status_code == 409
    assert len(receiver.received) == 1


def test_the_hosted_page_cancel_returns_the_customer_and_pays_nothing(fake, receiver):
    session_id = start().reference

    canceled = requests.post(f"{fake.url}/pay/{session_id}/cancel", allow_redirects=False, timeout=5)

    assert canceled.status_code == 303
    assert canceled.headers["Location"] == URLS["cancel_url"]
    assert receiver.received == []
    assert fake.session(session_id)["status"] == "open"


def test_the_fake_reads_sessions_back_and_answers_unknown_ones_as_stripe_does(fake):
    session_id = start().reference
    key = {"Authorization": f"Bearer {fake.secret_key}"}

    found = requests.get(f"{fake.url}/v1/checkout/sessions/{session_id}", headers=key, timeout=5)
    missing = requests.get(f"{fake.url}/v1/checkout/sessions/cs_test_nope", headers=key, timeout=5)
    anonymous = requests.get(f"{fake.url}/v1/checkout/sessions/{session_id}", timeout=5)

    assert found.json()["id"] == session_id
    assert found.json()["url"] == f"{fake.url}/pay/{session_id}"
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "resource_missing")
    assert (anonymous.status_code, anonymous.json()["error"]["type"]) == (401, "invalid_request_error")
