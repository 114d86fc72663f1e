"""A local NOWPayments for tests and demos: the invoice API, a hosted invoice page, and IPNs signed as theirs.

``with FakeNowPayments() as fake:`` then point ``NOWPAYMENTS_API_BASE`` at ``fake.url`` and set
``NOWPAYMENTS_API_KEY`` / ``NOWPAYMENTS_IPN_SECRET`` to ``fake.api_key`` / ``fake.ipn_secret``.

- ``POST /v1/invoice`` (header ``x-api-key``): 401 without the key, 403 with another; an invoice priced in
  crypto at ``rate`` (price currency per coin), its ``invoice_url`` the fake's own hosted page.
- ``GET /invoice/<id>``: the hosted page, with "Pay in full" (waiting → confirming → finished), "Pay part"
  (waiting → partially_paid, half the coins) and "Let it expire" (expired). Each button delivers its IPNs to
  the invoice's ``ipn_callback_url``, then sends the browser to its success or cancel URL.
- ``fake.ipn(invoice_id, status, actually_paid=…)`` → ``(body, headers)`` signed with the IPN secret;
  ``fake.send_ipn(…)`` delivers one; ``fake.deliveries`` lists what was delivered and how it was answered.
- ``fake.fault``: "html" (a 200 HTML page, as a proxy in front of them answers), "garbage" (JSON without an
  invoice), "error" (a 500) — the invoice API answers so until it is set back to None.
"""

import html
import itertools
import json
import threading
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import requests

from billing.processors.nowpayments import SIGNATURE_HEADER, sign
from tests.fakes.server import FakeServer, LoopbackServer

COIN_QUANTUM = Decimal("0.00000001")
MAX_BODY = 100_000
# Statuses at which the whole of the invoice has arrived, unless told otherwise.
_FULLY_PAID = {"confirming", "confirmed", "sending", "finished", "refunded"}


@dataclass
class FakeInvoice:
    id: str
    payment_id: int
    order_id: str
    order_description: str
    price_amount: Decimal
    price_currency: str
    pay_amount: Decimal
    pay_currency: str
    ipn_callback_url: str
    success_url: str
    cancel_url: str
    request: dict = field(repr=False)  # the invoice request as received, for tests to read


@dataclass(frozen=True)
class Delivery:
    invoice_id: str
    status: str
    http_status: int | None  # None: the callback could not be reached


class FakeNowPayments(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = "fake-nowpayments-api-key",
        ipn_secret: str = "fake-nowpayments-ipn-secret",
        rate: Decimal = Decimal(50000),
        pay_currency: str = "btc",
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.api_key = api_key
        self.ipn_secret = ipn_secret
        self.rate = rate
        self.pay_currency = pay_currency
        self.fault: str | None = None
        self.invoices: dict[str, FakeInvoice] = {}
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(4_800_000_001)
        self._lock = threading.Lock()
        super().__init__(_Handler, host=host, port=port)

    @property
    def url(self) -> str:
        """The API base: what NOWPAYMENTS_API_BASE is set to."""
        return self.origin + "/v1"

    def create_invoice(self, request: dict) -> FakeInvoice:
        """What ``POST /v1/invoice`` does with a request it accepted; ValueError for a bad one."""
        try:
            price_amount = Decimal(str(request["price_amount"]))
        except (KeyError, InvalidOperation):
            raise ValueError("price_amount is required and must be a number") from None
        if not price_amount.is_finite() or price_amount <= 0:
            raise ValueError("price_amount must be positive")
        for name in ("price_currency", "ipn_callback_url"):
            if not isinstance(request.get(name), str) or not request[name]:
                raise ValueError(f"{name} is required")
        with self._lock:
            number = next(self._ids)
            invoice = FakeInvoice(
                id=str(number),
                payment_id=number + 300_000_000,
                order_id=str(request.get("order_id", "")),
                order_description=str(request.get("order_description", "")),
                price_amount=price_amount,
                price_currency=request["price_currency"],
                pay_amount=(price_amount / self.rate).quantize(COIN_QUANTUM, rounding=ROUND_UP),
                pay_currency=self.pay_currency,
                ipn_callback_url=request["ipn_callback_url"],
                success_url=str(request.get("success_url", "")),
                cancel_url=str(request.get("cancel_url", "")),
                request=request,
            )
            self.invoices[invoice.id] = invoice
        return invoice

    def ipn(
        self, invoice_id: str, status: str, *, actually_paid: Decimal | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """An IPN about ``invoice_id``'s payment, signed as NOWPayments signs: ``(body, headers)``."""
        invoice = self.invoices[str(invoice_id)]
        if actually_paid is None:
            if status in _FULLY_PAID:
                actually_paid = invoice.pay_amount
            elif status == "partially_paid":
                actually_paid = (invoice.pay_amount / 2).quantize(COIN_QUANTUM)
            else:
                actually_paid = Decimal(0)
        # Their order (not sorted): the signature is over the sorted form, whatever order the body has.
        data = {
            "payment_id": invoice.payment_id,
            "invoice_id": int(invoice.id),
            "payment_status": status,
            "pay_address": "bc1qfakeaddressfortests0000000000000000000",
            "price_amount": invoice.price_amount,
            "price_currency": invoice.price_currency,
            "pay_amount": invoice.pay_amount,
            "actually_paid": actually_paid,
            "pay_currency": invoice.pay_currency,
            "order_id": invoice.order_id,
            "order_description": invoice.order_description,
            "purchase_id": str(invoice.payment_id + 1),
            "outcome_amount": (actually_paid * Decimal("0.995")).quantize(COIN_QUANTUM),
            "outcome_currency": invoice.pay_currency,
        }
        signature = sign(data, self.ipn_secret)
        # Their servers write numbers as JavaScript doubles: the body carries them so (25.0 reads back as 25).
        body = json.dumps({k: float(v) if isinstance(v, Decimal) else v for k, v in data.items()}).encode()
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}

    def send_ipn(self, invoice_id: str, status: str, *, actually_paid: Decimal | None = None) -> int | None:
        """Deliver one IPN to the invoice's callback URL; its HTTP status, None if it could not be reached."""
        invoice = self.invoices[str(invoice_id)]
        body, headers = self.ipn(invoice_id, status, actually_paid=actually_paid)
        try:
            answer = requests.post(invoice.ipn_callback_url, data=body, headers=headers, timeout=(5, 30))
            http_status: int | None = answer.status_code
        except requests.RequestException:
            http_status = None
        with self._lock:
            self.deliveries.append(Delivery(invoice.id, status, http_status))
        return http_status

    def press(self, invoice_id: str, button: str) -> str:
        """What a button of the hosted page does: its IPNs, then where the browser goes."""
        invoice = self.invoices[str(invoice_id)]
        statuses, destination = _BUTTONS[button]
        for status in statuses:
            self.send_ipn(invoice.id, status)
        return getattr(invoice, destination)


# button → (the IPNs it sends, in order; the invoice's URL the customer is sent to)
_BUTTONS = {
    "pay": (("waiting", "confirming", "finished"), "success_url"),
    "pay-part": (("waiting", "partially_paid"), "success_url"),
    "expire": (("expired",), "cancel_url"),
}
_BUTTON_LABELS = {"pay": "Pay in full", "pay-part": "Pay part", "expire": "Let it expire"}


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        fake = self.server.fake
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "invoice" and parts[1] in fake.invoices:
            self._send(200, _page(fake.invoices[parts[1]]).encode(), "text/html; charset=utf-8")
        else:
            self._send(404, b"<html><body><h1>Not found</h1></body></html>", "text/html")

    def do_POST(self):
        fake = self.server.fake
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length)
        parts = urlsplit(self.path).path.strip("/").split("/")
        if parts == ["v1", "invoice"]:
            self._invoice(body)
        elif len(parts) == 3 and parts[0] == "invoice" and parts[1] in fake.invoices and parts[2] in _BUTTONS:
            location = fake.press(parts[1], parts[2])
            self.send_response(303)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"<html><body><h1>Not found</h1></body></html>", "text/html")

    def _invoice(self, body: bytes) -> None:
        fake = self.server.fake
        key = self.headers.get("x-api-key")
        if not key:
            self._json(
                401, {"status": False, "statusCode": 401, "code": "AUTH_REQUIRED", "message": "no key"}
            )
            return
        if key != fake.api_key:
            self._json(
                403,
                {"status": False, "statusCode": 403, "code": "INVALID_API_KEY", "message": "Invalid api key"},
            )
            return
        if fake.fault == "html":
            self._send(200, b"<!DOCTYPE html><html><body>Just a moment...</body></html>", "text/html")
            return
        if fake.fault == "error":
            self._json(500, {"status": False, "statusCode": 500, "message": "Internal server error"})
            return
        if fake.fault == "garbage":
            self._json(200, {"result": True})
            return
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError("the body is not a JSON object")
            invoice = fake.create_invoice(request)
        except ValueError as error:
            self._json(
                400,
                {"status": False, "statusCode": 400, "code": "INVALID_REQUEST_PARAMS", "message": str(error)},
            )
            return
        self._json(
            200,
            {
                "id": invoice.id,
                "order_id": invoice.order_id,
                "order_description": invoice.order_description,
                "price_amount": request["price_amount"],
                "price_currency": invoice.price_currency,
                "pay_currency": None,
                "ipn_callback_url": invoice.ipn_callback_url,
                "invoice_url": f"{fake.origin}/invoice/{invoice.id}",
                "success_url": invoice.success_url,
                "cancel_url": invoice.cancel_url,
            },
        )

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def _page(invoice: FakeInvoice) -> str:
    buttons = "".join(
        f'<form method="post" action="/invoice/{invoice.id}/{action}">'
        f'<button type="submit">{label}</button></form>'
        for action, label in _BUTTON_LABELS.items()
    )
    return (
        "<!DOCTYPE html><html><head><title>NOWPayments (fake)</title></head><body>"
        f"<h1>Invoice {invoice.id}</h1>"
        f"<p>{html.escape(invoice.order_description)}</p>"
        f"<p>{invoice.price_amount} {html.escape(invoice.price_currency.upper())} = "
        f"{invoice.pay_amount} {invoice.pay_currency.upper()}</p>"
        f"{buttons}</body></html>"
    )
