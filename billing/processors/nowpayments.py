"""NOWPayments (crypto) over its REST API: a hosted invoice, and IPN callbacks signed with the IPN secret.

Signature: ``x-nowpayments-sig`` is the hex HMAC-SHA512, keyed with the IPN secret, of the notification's
JSON as their Node example writes it — ``JSON.stringify`` of the parsed body with its keys sorted (nested
objects too, as their recursive sort and their PHP example do), so no spaces, non-ASCII characters and "/"
written as they are, and numbers in JavaScript's shortest form (``100``, not ``100.0``; ``1e-7``). The body
is re-serialised that way, never hashed as received: their own servers do not send it sorted.

Amounts: an IPN says what the invoice cost (``price_amount`` in ``price_currency``, the customer's fiat
money), what the customer was asked for in crypto (``pay_amount``) and what arrived (``actually_paid``). What
a paid, partially paid or refunded event is worth is ``price_amount * actually_paid / pay_amount``, at the
invoice's own rate, rounded *down* to the panel's money precision: never a fraction of a cent that did not
arrive. An exact payment is worth exactly ``price_amount``; an overpayment is worth what arrived (the money
is in the operator's wallet: the customer's balance shows it, an operator can refund it).
"""

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from billing.money import MONEY_LIMIT, MONEY_QUANTUM
from billing.processors.base import Checkout, NotificationRefused, PaymentEvent, ProcessorUnavailable
from panels.deadline import CallDeadline, DeadlineAdapter

SIGNATURE_HEADER = "x-nowpayments-sig"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
TOTAL_TIMEOUT = 30.0  # a processor that trickles its answer holds the customer's request no longer than this
MAX_ANSWER_BYTES = 256 * 1024
MAX_NOTIFICATION_BYTES = 64 * 1024
# Larger than any real price or crypto amount (the panel's money columns stop at MONEY_LIMIT): beyond it a
# number is an attack on the arithmetic, not a payment.
MAX_NUMBER = Decimal(10) ** 15

KIND_OF_STATUS = {
    "waiting": "pending",
    "confirming": "pending",
    "confirmed": "pending",
    "sending": "pending",
    "partially_paid": "partially_paid",
    "finished": "paid",
    "failed": "failed",
    "expired": "expired",
    "refunded": "refunded",
}
# Events whose amount is the converted ``actually_paid``; the others are worth 0.
_COUNTED = {"paid", "partially_paid", "refunded"}
_NUMERIC_TEXT = re.compile(r"\d{1,20}(\.\d{1,20})?")
_CURRENCY = re.compile(r"[A-Za-z0-9]{2,12}")


class NowPaymentsProcessor:
    name = "nowpayments"

    def start(
        self,
        *,
        topup_id: int,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        notify_url: str,
    ) -> Checkout:
        api_key = settings.NOWPAYMENTS_API_KEY
        if not api_key or not settings.NOWPAYMENTS_IPN_SECRET:
            raise ProcessorUnavailable("NOWPayments is not configured")
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise ValueError("amount must be a positive Decimal")
        payload = {
            "price_amount": format(amount, "f"),  # a string: a float would not be the amount asked for
            "price_currency": currency.lower(),
            "order_id": str(topup_id),
            "order_description": description,
            "ipn_callback_url": notify_url,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        url = settings.NOWPAYMENTS_API_BASE.rstrip("/") + "/invoice"
        answer = _post(url, payload, api_key)
        invoice_id = answer.get("id") if isinstance(answer, dict) else None
        invoice_url = answer.get("invoice_url") if isinstance(answer, dict) else None
        if (
            isinstance(invoice_id, bool)
            or not isinstance(invoice_id, int | str)
            or not str(invoice_id).strip()
            or not isinstance(invoice_url, str)
            or urlsplit(invoice_url).scheme not in ("http", "https")
        ):
            raise ProcessorUnavailable("NOWPayments answered without an invoice")
        return Checkout(redirect_url=invoice_url, reference=str(invoice_id))

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> list[PaymentEvent]:
        secret = settings.NOWPAYMENTS_IPN_SECRET
        if not secret:
            raise NotificationRefused("NOWPayments is not configured: no IPN secret")
        signature = next((value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER), "")
        if not signature:
            raise NotificationRefused(f"no {SIGNATURE_HEADER} header")
        if len(body) > MAX_NOTIFICATION_BYTES:
            raise NotificationRefused("notification too large")
        data = _parse(body)
        if not isinstance(data, dict):
            raise NotificationRefused("notification is not a JSON object")
        if not hmac.compare_digest(sign(data, secret).encode(), signature.strip().lower().encode()):
            raise NotificationRefused("bad signature")
        return [_event(data)]


def sign(data: dict, secret: str) -> str:
    """The ``x-nowpayments-sig`` of a notification: what NOWPayments sends, what the fake signs with."""
    return hmac.new(secret.encode(), canonical_json(data).encode(), hashlib.sha512).hexdigest()


def canonical_json(value: Any) -> str:
    """``JSON.stringify`` of ``value`` with its keys sorted at every level (see the module's docstring).
    A number JavaScript cannot hold (NaN, infinite, beyond a double) is refused."""
    if isinstance(value, dict):
        items = (f"{_string(key)}:{canonical_json(value[key])}" for key in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        return js_number(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def js_number(value: int | float | Decimal) -> str:
    """A number as JavaScript writes it: its shortest round-trip digits, plain between 1e-7 and 1e21, else
    ``d.ddde±n`` (ECMAScript Number::toString)."""
    try:
        number = float(value)
    except OverflowError:  # an int too large for a double
        number = math.inf
    if not math.isfinite(number):
        raise NotificationRefused("a number out of range")
    if number == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(number)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + exponent  # value = 0.digits * 10**n
    prefix = "-" if sign else ""
    if k <= n <= 21:
        return prefix + digits + "0" * (n - k)
    if 0 < n <= 21:
        return prefix + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return prefix + "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{prefix}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _post(url: str, payload: dict, api_key: str) -> Any:
    """POST ``payload`` as JSON; the answer's JSON, or ProcessorUnavailable. No message carries the key."""
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
    try:
        with CallDeadline(TOTAL_TIMEOUT), session:
            response = session.post(
                url,
                json=payload,
                headers={"x-api-key": api_key, "Accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,  # a redirected POST is not the API answering
                stream=True,
            )
            with response:
                content = b""
                for chunk in response.iter_content(16 * 1024):
                    content += chunk
                    if len(content) > MAX_ANSWER_BYTES:
                        raise ProcessorUnavailable("NOWPayments answered with too much data")
    except (requests.RequestException, OSError) as exc:
        raise ProcessorUnavailable(f"NOWPayments could not be reached ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise ProcessorUnavailable(f"NOWPayments refused the invoice (HTTP {response.status_code})")
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError:
        raise ProcessorUnavailable("NOWPayments answered with something that is not JSON") from None


def _parse(body: bytes) -> Any:
    """JSON with exact numbers: Decimals, never floats; no NaN/Infinity; no repeated keys."""
    try:
        return json.loads(
            body.decode("utf-8"),
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise NotificationRefused(f"notification is not JSON: {type(exc).__name__}") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("a key repeated")
    return data


def _event(data: dict) -> PaymentEvent:
    status = data.get("payment_status")
    if not isinstance(status, str) or not status:
        raise NotificationRefused("payment_status missing")
    payment_id = _identifier(data.get("payment_id"), "payment_id")
    invoice_id = data.get("invoice_id")
    currency = data.get("price_currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise NotificationRefused("price_currency missing or malformed")
    price_amount = _amount(data, "price_amount")
    pay_amount = _amount(data, "pay_amount")
    actually_paid = _amount(data, "actually_paid")
    # An unknown status changes nothing, and its word is logged by the core.
    kind = KIND_OF_STATUS.get(status, "pending")
    amount = Decimal(0)
    if kind in _COUNTED:
        if pay_amount <= 0:
            raise NotificationRefused("pay_amount is zero")
        with localcontext(prec=60):  # exact for any numbers below MAX_NUMBER
            amount = (price_amount * actually_paid / pay_amount).quantize(MONEY_QUANTUM, rounding=ROUND_DOWN)
        if amount >= MONEY_LIMIT:
            raise NotificationRefused("amount out of range")
    return PaymentEvent(
        event_id=f"{payment_id}:{status}:{js_number(actually_paid)}",
        kind=kind,
        topup_id=_topup_id(data.get("order_id")),
        reference="" if invoice_id is None else _identifier(invoice_id, "invoice_id"),
        payment_reference=payment_id,
        amount=amount,
        currency=currency.upper(),
        raw_status=status,
    )


def _identifier(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise NotificationRefused(f"{field} missing or malformed")
    return str(value)


def _amount(data: dict, field: str) -> Decimal:
    """A non-negative number, below MAX_NUMBER: a JSON number, or the same written as a string."""
    value = data.get(field)
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        value = Decimal(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise NotificationRefused(f"{field} missing or not a number")
    try:
        number = Decimal(value)
        if not number.is_finite() or not 0 <= number < MAX_NUMBER:
            raise NotificationRefused(f"{field} out of range")
    except InvalidOperation:
        raise NotificationRefused(f"{field} is not a number") from None
    return number


def _topup_id(order_id: Any) -> int | None:
    text = str(order_id) if isinstance(order_id, int | str) and not isinstance(order_id, bool) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
