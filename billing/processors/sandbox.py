"""The sandbox processor: a stand-in for a hosted payment page, served by this panel under /funds/sandbox/, so
the whole flow (redirect, pay or cancel, signed notification) runs with nothing outside the machine. It
credits balances without any money moving: only where the settings allow it (``billing.gateways``)."""

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from django.urls import reverse

from billing.processors.base import Checkout, NotificationRefused, PaymentEvent

FIELDS = ("topup", "status", "amount", "currency", "payment")


def _signature(fields: dict[str, str]) -> str:
    secret = settings.SANDBOX_GATEWAY_SECRET
    if not secret:  # an empty key would let anyone sign a payment
        raise ImproperlyConfigured("SANDBOX_GATEWAY_SECRET is not set.")
    message = "&".join(f"{name}={fields[name]}" for name in sorted(fields))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class SandboxProcessor:
    name = "sandbox"

    def start(self, *, topup_id: int, amount, currency, description, success_url, cancel_url, notify_url):
        return Checkout(reverse("storefront:sandbox-pay", args=[topup_id]), f"sbx_{topup_id}")

    def sign(
        self, *, topup_id: int, paid: bool, amount: Decimal, gateway_reference: str, currency: str = ""
    ) -> dict[str, str]:
        """What the sandbox's payment page sends back: the fields and their HMAC-SHA256."""
        fields = {
            "topup": str(topup_id),
            "status": "paid" if paid else "canceled",
            "amount": str(amount),
            "currency": currency or settings.PANEL_CURRENCY,
            "payment": gateway_reference,
        }
        return {**fields, "signature": _signature(fields)}

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> list[PaymentEvent]:
        try:
            params = QueryDict(body.decode())
        except UnicodeDecodeError:
            raise NotificationRefused("The payment notification is not text.") from None
        fields = {name: params.get(name, "") for name in FIELDS}
        if not hmac.compare_digest(_signature(fields), params.get("signature", "")):
            raise NotificationRefused("The payment notification's signature does not verify.")
        try:
            topup_id, amount = int(fields["topup"]), Decimal(fields["amount"])
        except (ValueError, InvalidOperation):
            raise NotificationRefused("The payment notification is malformed.") from None
        paid = fields["status"] == "paid"
        return [
            PaymentEvent(
                event_id=f"sbx:{topup_id}:{fields['status']}",
                kind="paid" if paid else "canceled",
                topup_id=topup_id,
                reference=f"sbx_{topup_id}",
                payment_reference=fields["payment"],
                amount=amount if paid else Decimal(0),
                currency=fields["currency"],
                raw_status=fields["status"],
            )
        ]
