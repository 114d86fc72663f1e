"""Stripe: a hosted Checkout Session to pay, and signed webhook events saying what became of it.

Only the official ``stripe`` library talks to Stripe. ``STRIPE_API_BASE`` points it elsewhere (the local fake,
``tests.fakes.stripe``); empty, it talks to Stripe itself. Webhooks are configured once in
Stripe's dashboard (the endpoint and its signing secret, ``STRIPE_WEBHOOK_SECRET``): a Checkout Session
carries no notification URL.
"""

from collections.abc import Mapping
from decimal import Decimal

import stripe
from django.conf import settings

from billing.processors.base import Checkout, NotificationRefused, PaymentEvent, ProcessorUnavailable

# Stripe counts amounts in a currency's minor unit; these are the currencies where that is not a hundredth
# (https://docs.stripe.com/currencies#zero-decimal and #three-decimal).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ],
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# A customer waits on the redirect: Stripe's own 80 s read timeout is far too long for that.
TIMEOUT = (5, 20)
# One more try for what provably never arrived (the library sends an idempotency key with each POST).
NETWORK_RETRIES = 1
SIGNATURE_TOLERANCE_SECONDS = 300


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in ``currency``'s minor unit as Stripe counts it; raises ``ValueError`` if it is finer."""
    code = currency.upper()
    units = amount.scaleb(_places(code))
    if units != units.to_integral_value():
        raise ValueError(f"{amount} {code} is finer than Stripe's minor unit")
    if code in THREE_DECIMAL and units % 10:  # Stripe refuses three-decimal amounts not ending in 0
        raise ValueError(f"{amount} {code}: Stripe takes three-decimal amounts to the hundredth only")
    return int(units)


def major_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-_places(currency.upper()))


def _places(code: str) -> int:
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


class StripeProcessor:
    name = "stripe"

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
        key = settings.STRIPE_SECRET_KEY
        if not key:
            raise ProcessorUnavailable("Stripe is not configured")
        client = stripe.StripeClient(
            key,
            base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
        )
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": minor_units(amount, currency),
                        "product_data": {"name": description},
                    },
                }
            ],
            "client_reference_id": str(topup_id),
            "metadata": {"topup": str(topup_id)},
            "payment_intent_data": {"metadata": {"topup": str(topup_id)}},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        try:
            session = client.v1.checkout.sessions.create(params=params)
        except stripe.StripeError as error:
            raise ProcessorUnavailable(_describe(error, key)) from error
        if not session.url:
            raise ProcessorUnavailable(f"Stripe returned Checkout Session {session.id} without a URL")
        return Checkout(redirect_url=session.url, reference=session.id)

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> list[PaymentEvent]:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise NotificationRefused("Stripe is not configured: STRIPE_WEBHOOK_SECRET is empty")
        signature = next(
            (value for name, value in headers.items() if name.lower() == "stripe-signature"), None
        )
        try:
            event = stripe.Webhook.construct_event(
                body, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            ).to_dict()
            return _events(event)
        except stripe.SignatureVerificationError as error:
            raise NotificationRefused(f"Stripe signature refused: {error.user_message}") from None
        # Signed (or not even decodable), but not an event as Stripe sends them.
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise NotificationRefused(f"unreadable Stripe event: {error!r}") from None


def _describe(error: stripe.StripeError, key: str) -> str:
    """What went wrong, for the log: never the key (Stripe masks it in its messages; masked again here)."""
    words = [f"Stripe {type(error).__name__}"]
    if error.http_status:
        words.append(f"HTTP {error.http_status}")
    if error.code:
        words.append(error.code)
    if error.request_id:
        words.append(error.request_id)
    message = (error.user_message or "").replace(key, "[secret key]")
    return f"{', '.join(words)}: {message}"


def _events(event: dict) -> list[PaymentEvent]:
    kind_of_session = {
        "checkout.session.async_payment_succeeded": "paid",
        "checkout.session.async_payment_failed": "failed",
        "checkout.session.expired": "expired",
    }
    event_type = event["type"]
    obj = event["data"]["object"]
    if event_type == "checkout.session.completed":
        # Delayed methods (bank debits, vouchers) complete the session unpaid; async_payment_* follow.
        kind = "paid" if obj["payment_status"] == "paid" else "pending"
        return [_session_event(event, obj, kind)]
    if event_type in kind_of_session:
        return [_session_event(event, obj, kind_of_session[event_type])]
    if event_type == "charge.refunded":
        # amount_refunded is the charge's running total of refunds, not this refund's alone.
        topup_id = _topup_id((obj.get("metadata") or {}).get("topup"))
        return [_money_back(event, obj, "refunded", obj["amount_refunded"], topup_id)]
    if event_type == "charge.dispute.created":
        return [_money_back(event, obj, "disputed", obj["amount"], None)]
    return []  # nothing the core acts on


def _session_event(event: dict, session: dict, kind: str) -> PaymentEvent:
    currency = session.get("currency") or ""
    paid = kind == "paid"
    return PaymentEvent(
        event_id=event["id"],
        kind=kind,
        topup_id=_topup_id(
            session.get("client_reference_id") or (session.get("metadata") or {}).get("topup")
        ),
        reference=session["id"],
        payment_reference=session.get("payment_intent") or "",
        amount=major_units(session["amount_total"], currency) if paid else Decimal(0),
        currency=currency.upper(),
        raw_status=f"{event['type']}/{session.get('payment_status')}",
    )


def _money_back(event: dict, obj: dict, kind: str, units: int, topup_id: int | None) -> PaymentEvent:
    return PaymentEvent(
        event_id=event["id"],
        kind=kind,
        topup_id=topup_id,
        reference="",
        payment_reference=obj.get("payment_intent") or "",
        amount=major_units(units, obj["currency"]),
        currency=obj["currency"].upper(),
        raw_status=f"{event['type']}/{obj.get('status')}",
    )


def _topup_id(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None
