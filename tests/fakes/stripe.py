"""A local stand-in for the few parts of Stripe the panel uses, over real HTTP on a loopback port.

``with FakeStripe(webhook_url=...) as fake:`` then point ``STRIPE_API_BASE`` at ``fake.url`` and use
``fake.secret_key`` / ``fake.webhook_secret`` as the settings. It serves what the ``stripe`` library
calls (create and read a Checkout Session, form-encoded, Bearer-authenticated, Stripe's error JSON) and a
hosted page ``/pay/<session>`` whose Pay button completes the session, delivers a signed
``checkout.session.completed`` to the webhook URL and redirects to the success URL (Cancel only redirects: a
real session stays open until it expires). Events are signed exactly as Stripe signs them. For the demo and
the tests; never for real money.
"""

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

import requests

from billing.processors.stripe import major_units, minor_units
from tests.fakes.server import FakeServer, LoopbackServer

MAX_BODY = 1_000_000
DELIVERY_TIMEOUT = (5, 30)
API_VERSION = "2026-10-28.endive"


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


class FakeStripe(FakeServer):
    def __init__(
        self,
        *,
        webhook_url: str = "",
        secret_key: str | None = None,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.webhook_url = webhook_url
        # Keys of its own unless given: a test never passes with the wrong one by chance.
        self.secret_key = secret_key or f"sk_test_{secrets.token_hex(16)}"
        self.webhook_secret = webhook_secret or f"whsec_{secrets.token_hex(16)}"
        self.sessions: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}  # by session id, once paid
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, decoded form) of each API call
        self.deliveries: list[tuple[str, int | None]] = []  # (event type, HTTP status or None) per delivery
        self.api_failure: int | None = None  # when set, every API call answers this status
        self._lock = threading.Lock()
        super().__init__(_Handler, host=host, port=port)

    @property
    def url(self) -> str:
        return self.origin

    # --- events, signed as Stripe signs them -------------------------------------------------------------

    def sign(self, payload: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header for ``payload``: HMAC-SHA256 of ``"<t>.<payload>"``."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new((secret or self.webhook_secret).encode(), signed, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def event(self, event_type: str, obj: dict, *, timestamp: int | None = None) -> tuple[bytes, dict]:
        """A signed event: the body and the headers Stripe would POST to the webhook endpoint."""
        body = json.dumps(
            {
                "id": _id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "type": event_type,
                "data": {"object": obj},
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": self.sign(body, timestamp=timestamp),
        }
        return body, headers

    def deliver(self, body: bytes, headers: dict) -> int | None:
        """POST an event to the webhook URL; its status (None: no answer), kept in ``deliveries``."""
        try:
            status: int | None = requests.post(
                self.webhook_url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT
            ).status_code
        except requests.RequestException:
            status = None
        self.deliveries.append((json.loads(body)["type"], status))
        return status

    # --- what happens to a session ------------------------------------------------------------------------

    def session(self, session_id: str) -> dict:
        with self._lock:
            return dict(self.sessions[session_id])

    def complete(self, session_id: str, *, paid: bool = True) -> tuple[bytes, dict]:
        """The customer finished Checkout: paid by card, or (``paid=False``) by a method that pays later."""
        session = self._update(session_id, status="complete", payment_status="paid" if paid else "unpaid")
        return self.event("checkout.session.completed", session)

    def settle(self, session_id: str, *, succeeded: bool = True) -> tuple[bytes, dict]:
        """A delayed payment method's outcome after ``complete(paid=False)``."""
        session = self._update(session_id, payment_status="paid" if succeeded else "unpaid")
        kind = "succeeded" if succeeded else "failed"
        return self.event(f"checkout.session.async_payment_{kind}", session)

    def expire(self, session_id: str) -> tuple[bytes, dict]:
        return self.event("checkout.session.expired", self._update(session_id, status="expired", url=None))

    def refund(self, session_id: str, amount: Decimal | None = None) -> tuple[bytes, dict]:
        """``charge.refunded`` for ``amount`` more (default: all that is left); like Stripe, the charge's
        ``amount_refunded`` is the running total of its refunds."""
        with self._lock:
            charge = self._charge(session_id)
            units = (
                charge["amount"] - charge["amount_refunded"]
                if amount is None
                else self._units(charge, amount)
            )
            charge["amount_refunded"] += units
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            charge = dict(charge)
        return self.event("charge.refunded", charge)

    def dispute(self, session_id: str, amount: Decimal | None = None) -> tuple[bytes, dict]:
        with self._lock:
            charge = self._charge(session_id)
            units = charge["amount"] if amount is None else self._units(charge, amount)
            dispute = {
                "id": _id("dp"),
                "object": "dispute",
                "amount": units,
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": "needs_response",
                "metadata": {},
            }
        return self.event("charge.dispute.created", dispute)

    def _update(self, session_id: str, **changes) -> dict:
        with self._lock:
            session = self.sessions[session_id]
            session.update(changes)
            if session["payment_status"] == "paid" and session_id not in self.charges:
                self.charges[session_id] = {
                    "id": _id("ch"),
                    "object": "charge",
                    "amount": session["amount_total"],
                    "amount_refunded": 0,
                    "currency": session["currency"],
                    "payment_intent": session["payment_intent"],
                    "metadata": dict(session["payment_intent_metadata"]),
                    "paid": True,
                    "refunded": False,
                    "status": "succeeded",
                }
            return dict(session)

    def _charge(self, session_id: str) -> dict:
        if session_id not in self.charges:
            raise ValueError(f"{session_id} was never paid: nothing to refund or dispute")
        return self.charges[session_id]

    @staticmethod
    def _units(charge: dict, amount: Decimal) -> int:
        return minor_units(amount, charge["currency"])

    # --- the API ------------------------------------------------------------------------------------------

    def _create_session(self, form: dict) -> tuple[int, dict]:
        items = form.get("line_items")
        if form.get("mode") != "payment" or not isinstance(items, list) or len(items) != 1:
            return 400, _error("This fake takes mode=payment with one line item.", "line_items")
        price = items[0].get("price_data") or {}
        currency = price.get("currency", "")
        if not re.fullmatch(r"[a-z]{3}", currency):
            return 400, _error(f"Invalid currency: {currency}.", "line_items[0][price_data][currency]")
        if not str(price.get("unit_amount", "")).isdigit() or not str(items[0].get("quantity", "")).isdigit():
            return 400, _error("Invalid integer.", "line_items[0][price_data][unit_amount]")
        for field in ("success_url", "cancel_url"):
            if not form.get(field, "").startswith(("http://", "https://")):
                return 400, _error("Not a valid URL.", field)
        session_id = _id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_subtotal": int(price["unit_amount"]) * int(items[0]["quantity"]),
            "amount_total": int(price["unit_amount"]) * int(items[0]["quantity"]),
            "currency": currency,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": form.get("metadata") or {},
            "payment_intent": _id("pi"),
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "url": f"{self.url}/pay/{session_id}",
            "livemode": False,
            "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "product_name": (price.get("product_data") or {}).get("name", ""),
            "payment_intent_metadata": (form.get("payment_intent_data") or {}).get("metadata") or {},
        }
        with self._lock:
            self.sessions[session_id] = session
        return 200, _public(session)

    def _api(self, method: str, path: str, headers, form: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append((method, path, form))
        if headers.get("Authorization") != f"Bearer {self.secret_key}":
            given = (headers.get("Authorization") or "").removeprefix("Bearer ")
            return 401, _error(f"Invalid API Key provided: {_mask(given)}", None)
        if self.api_failure:
            return self.api_failure, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(form)
        if method == "GET" and (match := re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path)):
            with self._lock:
                session = self.sessions.get(match[1])
            if session:
                return 200, _public(session)
            return 404, _error(f"No such checkout.session: '{match[1]}'", "session", code="resource_missing")
        return 404, _error(f"Unrecognized request URL ({method}: {path}).", None)


def _public(session: dict) -> dict:
    return {
        key: value for key, value in session.items() if key not in {"product_name", "payment_intent_metadata"}
    }


def _error(message: str, param: str | None, *, code: str | None = None) -> dict:
    error = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return {"error": error}


def _mask(key: str) -> str:
    return f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}" if len(key) > 12 else "*" * len(key)


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding back into objects: ``line_items[0][price_data][currency]=usd``."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def _page(session: dict) -> bytes:
    amount = major_units(session["amount_total"], session["currency"])
    state = "" if session["status"] == "open" else f"<p>This session is {session['status']}.</p>"
    return f"""<!doctype html><html><head><title>Fake Stripe Checkout</title></head><body>
<h1>Fake Stripe Checkout</h1>
<p>{html.escape(session["product_name"])}</p>
<p class="amount">{amount} {session["currency"].upper()}</p>{state}
<form method="post" action="/pay/{session["id"]}/pay"><button type="submit">Pay</button></form>
<form method="post" action="/pay/{session["id"]}/cancel"><button type="submit">Cancel</button></form>
</body></html>""".encode()


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._route("GET", {})

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        self._route("POST", _nest(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)))

    def _route(self, method: str, form: dict) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        if path.startswith("/v1/"):
            status, answer = fake._api(method, path, self.headers, form)
            self._send(status, json.dumps(answer).encode(), "application/json")
            return
        match = re.fullmatch(r"/pay/(\w+)(?:/(pay|cancel))?", path)
        session = match and fake.sessions.get(match[1])
        if not session:
            self._send(404, b"<h1>No such Checkout Session</h1>", "text/html")
        elif method == "GET" and not match[2]:
            self._send(200, _page(session), "text/html; charset=utf-8")
        elif method == "POST" and match[2] == "pay" and session["status"] == "open":
            fake.deliver(*fake.complete(session["id"]))
            self._redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]))
        elif method == "POST" and match[2] == "cancel":
            self._redirect(session["cancel_url"])
        else:
            self._send(409, b"<h1>This Checkout Session is no longer open</h1>", "text/html")

    def _redirect(self, location: str) -> None:
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass
