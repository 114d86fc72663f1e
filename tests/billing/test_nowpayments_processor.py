"""The NOWPayments processor against its local fake, over real HTTP, with no database: an invoice is created
with the amount as a string, failures say "try again" without the API key, and an IPN is believed only when
its x-nowpayments-sig verifies over the key-sorted body — then its status and the amount that actually
arrived are read in our terms."""

import hashlib
import hmac
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from billing.processors.base import NotificationRefused, ProcessorUnavailable
from billing.processors.nowpayments import NowPaymentsProcessor, js_number, sign
from tests.fakes.nowpayments import FakeNowPayments

SUCCESS_URL = "https://panel.example.com/funds/?paid=1"
CANCEL_URL = "https://panel.example.com/funds/?canceled=1"
NOTIFY_URL = "https://panel.example.com/payments/nowpayments/notify/"


class Receiver:
    """A tiny HTTP server: records each request and answers ``status`` (with ``location``, if set)."""

    def __init__(self, status: int = 200, location: str = ""):
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, body, dict(self.headers)))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/notify/"

    def __enter__(self) -> "Receiver":
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake(settings):
    with FakeNowPayments() as server:
        settings.NOWPAYMENTS_API_BASE = server.url
        settings.NOWPAYMENTS_API_KEY = server.api_key
        settings.NOWPAYMENTS_IPN_SECRET = server.ipn_secret
        yield server


def start(*, topup_id: int = 42, amount: str = "25.00", notify_url: str = NOTIFY_URL):
    return NowPaymentsProcessor().start(
        topup_id=topup_id,
        amount=Decimal(amount),
        currency="USD",
        description=f"Balance top-up #{topup_id}",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        notify_url=notify_url,
    )


def parse(body: bytes, headers: dict[str, str]):
    return NowPaymentsProcessor().parse_notification(body=body, headers=headers)


# --- Starting a payment -------------------------------------------------------------------------------


def test_start_creates_an_invoice_with_the_amount_as_a_string(fake):
    checkout = start(topup_id=42, amount="25.50")

    invoice = fake.invoices[checkout.reference]
    assert checkout.redirect_url == f"{fake.origin}/invoice/{invoice.id}"
    assert invoice.request == {
        "price_amount": "25.50",
        "price_currency": "usd",
        "order_id": "42",
        "order_description": "Balance top-up #42",
        "ipn_callback_url": NOTIFY_URL,
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }
    assert requests.get(checkout.redirect_url, timeout=5).status_code == 200


def test_a_refused_key_is_unavailable_and_the_key_is_never_in_the_message(fake, settings):
    settings.NOWPAYMENTS_API_KEY = "np-live-key-that-must-not-leak"
    with pytest.raises(ProcessorUnavailable) as caught:
        start()
    assert "403" in str(caught.value)
    assert "np-live-key-that-must-not-leak" not in str(caught.value) + repr(caught.value)
    assert fake.invoices == {}


@pytest.mark.parametrize("fault", ["html", "garbage", "error"])
def test_an_answer_that_is_not_an_invoice_is_unavailable(fake, fault):
    fake.fault = fault
    with pytest.raises(ProcessorUnavailable) as caught:
        start()
    assert fake.api_key not in str(caught.value)


def test_a_processor_that_is_down_is_unavailable(settings):
    with FakeNowPayments() as down:
        pass  # stopped: nothing listens on its port any more
    settings.NOWPAYMENTS_API_BASE = down.url
    settings.NOWPAYMENTS_API_KEY = "np-key-of-a-processor-that-is-down"
    settings.NOWPAYMENTS_IPN_SECRET = "secret"
    with pytest.raises(ProcessorUnavailable, match="could not be reached") as caught:
        start()
    assert "np-key-of-a-processor-that-is-down" not in str(caught.value)
    # The requests error (it holds the request, headers and all) is not chained to what the core logs.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_redirect_is_not_followed_with_the_key(fake, settings):
    with Receiver(status=307, location=fake.url + "/invoice") as redirector:
        settings.NOWPAYMENTS_API_BASE = redirector.url.rstrip("/")
        with pytest.raises(ProcessorUnavailable, match="307"):
            start()
    assert len(redirector.requests) == 1
    assert fake.invoices == {}  # the POST, and its key, went nowhere else


@pytest.mark.parametrize("missing", ["NOWPAYMENTS_API_KEY", "NOWPAYMENTS_IPN_SECRET"])
def test_without_its_secrets_nothing_starts(fake, settings, missing):
    setattr(settings, missing, "")
    with pytest.raises(ProcessorUnavailable, match="NOWPayments is not configured"):
        start()
    assert fake.invoices == {}


# --- Reading a notification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("waiting", "pending"),
        ("confirming", "pending"),
        ("confirmed", "pending"),
        ("sending", "pending"),
        ("partially_paid", "partially_paid"),
        ("finished", "paid"),
        ("failed", "failed"),
        ("expired", "expired"),
        ("refunded", "refunded"),
        ("some_new_status", "pending"),
    ],
)
def test_each_status_in_our_terms(fake, status, kind):
    checkout = start(topup_id=42, amount="25.00")
    invoice = fake.invoices[checkout.reference]

    [event] = parse(*fake.ipn(invoice.id, status))

    assert (event.kind, event.raw_status) == (kind, status)
    assert event.topup_id == 42
    assert event.reference == checkout.reference
    assert event.payment_reference == str(invoice.payment_id)
    assert event.currency == "USD"
    expected = {"paid": "25.0000", "partially_paid": "12.5000", "refunded": "25.0000"}.get(kind, "0")
    assert event.amount == Decimal(expected)


@pytest.mark.parametrize(
    ("rate", "price", "paid", "credited"),
    [
        (50000, "25.00", "0.0005", "25.0000"),  # exact: 25 USD at 50 000 USD/BTC
        (50000, "25.00", "0.0002", "10.0000"),  # partial
        (50000, "25.00", "0.0006", "30.0000"),  # overpaid: what arrived, at the invoice's rate
        (30000, "10.00", "0.00033334", "10.0000"),  # 10 / 30 000 rounded up to the satoshi, paid exactly
        (30000, "10.00", "0.0001", "2.9999"),  # 2.99994…: rounded down, never a fraction that did not arrive
    ],
)
def test_the_amount_is_what_actually_arrived_at_the_invoices_rate(fake, rate, price, paid, credited):
    fake.rate = Decimal(rate)
    invoice = fake.invoices[start(amount=price).reference]

    [event] = parse(*fake.ipn(invoice.id, "finished", actually_paid=Decimal(paid)))

    assert event.amount == Decimal(credited)
    assert event.event_id == f"{invoice.payment_id}:finished:{paid}"


def test_a_partial_payment_is_worth_what_arrived(fake):
    invoice = fake.invoices[start(amount="25.00").reference]
    [event] = parse(*fake.ipn(invoice.id, "partially_paid", actually_paid=Decimal("0.0001")))
    assert (event.kind, event.amount) == ("partially_paid", Decimal("5.0000"))


def test_the_signature_is_over_the_key_sorted_body_as_javascript_writes_it(settings):
    """An independent vector: the string NOWPayments' Node example signs, written out by hand."""
    settings.NOWPAYMENTS_IPN_SECRET = "vector-secret"
    body = (
        b'{"payment_status": "finished", "payment_id": 5077125051, "invoice_id": 4600000001,'
        b' "price_amount": 25.0, "price_currency": "usd", "pay_amount": 5e-4, "actually_paid": 0.00050,'
        b' "pay_currency": "btc", "order_id": "42", "order_description": "Top-up caf\xc3\xa9 / #42",'
        b' "fee": {"serviceFee": 1e-7, "currency": "btc"}}'
    )
    signed = (
        '{"actually_paid":0.0005,"fee":{"currency":"btc","serviceFee":1e-7},"invoice_id":4600000001,'
        '"order_description":"Top-up café / #42","order_id":"42","pay_amount":0.0005,"pay_currency":"btc",'
        '"payment_id":5077125051,"payment_status":"finished","price_amount":25,"price_currency":"usd"}'
    )
    signature = hmac.new(b"vector-secret", signed.encode(), hashlib.sha512).hexdigest()

    [event] = parse(body, {"X-NOWPayments-Sig": signature.upper()})

    assert (event.kind, event.amount, event.topup_id, event.reference) == (
        "paid",
        Decimal("25.0000"),
        42,
        "4600000001",
    )
    assert event.event_id == "5077125051:finished:0.0005"


@pytest.mark.parametrize(
    ("number", "javascript"),
    [
        (Decimal("100.0"), "100"),
        (Decimal("0.1"), "0.1"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1E-7"), "1e-7"),
        (Decimal("1.5E-10"), "1.5e-10"),
        (Decimal("1E+21"), "1e+21"),
        (Decimal("123456789012345678901"), "123456789012345680000"),
        (Decimal("-0.0"), "0"),
        (5077125051, "5077125051"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(number, javascript):
    assert js_number(number) == javascript


def test_keys_in_any_order_still_verify(fake):
    invoice = fake.invoices[start().reference]
    body, headers = fake.ipn(invoice.id, "finished")
    reordered = json.dumps(dict(reversed(json.loads(body).items())), indent=2).encode()
    assert reordered != body

    assert parse(reordered, headers) == parse(body, headers)


def test_a_tampered_amount_no_longer_verifies(fake):
    invoice = fake.invoices[start().reference]
    body, headers = fake.ipn(invoice.id, "finished")
    data = json.loads(body)
    data["actually_paid"] = 0.005
    with pytest.raises(NotificationRefused, match="bad signature"):
        parse(json.dumps(data).encode(), headers)


def test_a_signature_made_with_another_secret_is_refused(fake):
    invoice = fake.invoices[start().reference]
    body, _ = fake.ipn(invoice.id, "finished")
    forged = sign(json.loads(body), "not-the-ipn-secret")
    with pytest.raises(NotificationRefused, match="bad signature"):
        parse(body, {"x-nowpayments-sig": forged})


def test_no_signature_header_is_refused(fake):
    invoice = fake.invoices[start().reference]
    body, _ = fake.ipn(invoice.id, "finished")
    with pytest.raises(NotificationRefused, match="no x-nowpayments-sig"):
        parse(body, {"Content-Type": "application/json"})


def test_without_the_ipn_secret_nothing_verifies(fake, settings):
    invoice = fake.invoices[start().reference]
    body, headers = fake.ipn(invoice.id, "finished")
    settings.NOWPAYMENTS_IPN_SECRET = ""
    with pytest.raises(NotificationRefused, match="not configured"):
        parse(body, headers)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"payment_status=finished", "not JSON"),
        (b"\xff\xfe not utf-8", "not JSON"),
        (b"[" * 5000, "not JSON"),
        (b'{"payment_id": 1, "actually_paid": NaN}', "not JSON"),
        (b'{"payment_id": 1, "actually_paid": -Infinity}', "not JSON"),
        (b'{"payment_id": 1, "payment_id": 2}', "not JSON"),
        (b'["finished"]', "not a JSON object"),
        (b'{"payment_id": 1, "actually_paid": 1e400}', "out of range"),
        (b'{"payment_id": 1, "actually_paid": ' + b"9" * 400 + b"}", "out of range"),
    ],
)
def test_a_body_that_is_not_a_readable_notification_is_refused(fake, body, reason):
    with pytest.raises(NotificationRefused, match=reason):
        parse(body, {"x-nowpayments-sig": "0" * 128})


GOOD = {
    "payment_id": 5077125051,
    "invoice_id": 4600000001,
    "payment_status": "finished",
    "price_amount": 25,
    "price_currency": "usd",
    "pay_amount": Decimal("0.0005"),
    "actually_paid": Decimal("0.0005"),
    "pay_currency": "btc",
    "order_id": "42",
}


@pytest.mark.parametrize(
    "changes",
    [
        {"payment_id": None},
        {"payment_id": True},
        {"payment_status": 3},
        {"price_currency": ""},
        {"price_currency": ["usd"]},
        {"actually_paid": "lots"},
        {"actually_paid": -1},
        {"actually_paid": Decimal("1E+16")},
        {"price_amount": True},
        {"pay_amount": 0},
        {"invoice_id": {"id": 1}},
    ],
)
def test_a_signed_notification_with_missing_or_garbage_fields_is_refused(fake, changes):
    data = {**GOOD, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    with pytest.raises(NotificationRefused):
        parse(_body(data), {"x-nowpayments-sig": sign(data, fake.ipn_secret)})


def test_a_foreign_order_id_and_no_invoice_id_are_read_as_unknown(fake):
    data = {key: value for key, value in GOOD.items() if key != "invoice_id"} | {"order_id": "shop-77"}
    [event] = parse(_body(data), {"x-nowpayments-sig": sign(data, fake.ipn_secret)})
    assert (event.topup_id, event.reference, event.kind) == (None, "", "paid")


def test_amounts_written_as_strings_are_read_exactly(fake):
    data = GOOD | {"pay_amount": "0.0005", "actually_paid": "0.00025", "price_amount": "25.00"}
    [event] = parse(_body(data), {"x-nowpayments-sig": sign(data, fake.ipn_secret)})
    assert event.amount == Decimal("12.5000")


def _body(data: dict) -> bytes:
    return json.dumps(data, default=float).encode()  # Decimals as JSON numbers, as a sender writes them


# --- The hosted page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("button", "statuses", "kinds", "amount", "destination"),
    [
        (
            "Pay in full",
            ["waiting", "confirming", "finished"],
            ["pending", "pending", "paid"],
            "25.0000",
            SUCCESS_URL,
        ),
        ("Pay part", ["waiting", "partially_paid"], ["pending", "partially_paid"], "12.5000", SUCCESS_URL),
        ("Let it expire", ["expired"], ["expired"], "0", CANCEL_URL),
    ],
)
def test_the_hosted_pages_buttons_deliver_verifiable_ipns(fake, button, statuses, kinds, amount, destination):
    with Receiver() as receiver:
        checkout = start(topup_id=7, amount="25.00", notify_url=receiver.url)
        page = requests.get(checkout.redirect_url, timeout=5).text
        assert all(label in page for label in ("Pay in full", "Pay part", "Let it expire"))
        action = page.split(f">{button}</button>")[0].rsplit('action="', 1)[1].split('"')[0]

        answer = requests.post(fake.origin + action, timeout=30, allow_redirects=False)

    assert (answer.status_code, answer.headers["Location"]) == (303, destination)
    events = [parse(body, headers)[0] for _, body, headers in receiver.requests]
    assert [event.raw_status for event in events] == statuses
    assert [event.kind for event in events] == kinds
    assert {(event.topup_id, event.reference) for event in events} == {(7, checkout.reference)}
    assert events[-1].amount == Decimal(amount)
    assert len({event.event_id for event in events}) == len(events)
    assert [delivery.http_status for delivery in fake.deliveries] == [200] * len(statuses)
