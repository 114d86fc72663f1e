"""Payment gateways: the interface a real card/crypto gateway implements, and the sandbox one.

A gateway payment goes: ``start`` gives the URL of the gateway's payment page, where the customer is
redirected; the gateway then calls our callback with a signed message saying what happened. Only a callback
whose signature verifies can credit a balance, and it credits once however often it is repeated.
"""

import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.urls import reverse


class BadSignature(Exception):
    """The callback was not signed by the gateway: ignored."""


@dataclass(frozen=True)
class GatewayResult:
    topup_id: int
    paid: bool
    amount: Decimal
    gateway_reference: str


class PaymentGateway(Protocol):
    name: str

    def payment_url(self, *, topup, return_url: str) -> str: ...

    def parse_callback(self, params: dict[str, str]) -> GatewayResult: ...


def _signature(fields: dict[str, str]) -> str:
    message = "&".join(f"{name}={fields[name]}" for name in sorted(fields))
    return hmac.new(settings.SANDBOX_GATEWAY_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


class SandboxGateway:
    """A stand-in for a hosted payment page, served by this panel under /payments/sandbox/ so the whole flow
    (redirect, pay or cancel, signed callback) runs with nothing outside the machine."""

    name = "sandbox"

    def payment_url(self, *, topup, return_url: str) -> str:
        return reverse("storefront:sandbox-pay", args=[topup.pk])

    def sign(self, *, topup_id: int, paid: bool, amount: Decimal, gateway_reference: str) -> dict[str, str]:
        """What the sandbox's payment page sends back: the fields and their HMAC-SHA256."""
        fields = {
            "topup": str(topup_id),
            "status": "paid" if paid else "canceled",
            "amount": str(amount),
            "payment": gateway_reference,
        }
        return {**fields, "signature": _signature(fields)}

    def parse_callback(self, params: dict[str, str]) -> GatewayResult:
        fields = {name: str(params.get(name, "")) for name in ("topup", "status", "amount", "payment")}
        if not hmac.compare_digest(_signature(fields), str(params.get("signature", ""))):
            raise BadSignature("The payment callback's signature does not verify.")
        try:
            return GatewayResult(
                topup_id=int(fields["topup"]),
                paid=fields["status"] == "paid",
                amount=Decimal(fields["amount"]),
                gateway_reference=fields["payment"],
            )
        except (ValueError, ArithmeticError):
            raise BadSignature("The payment callback is malformed.") from None


GATEWAYS: dict[str, PaymentGateway] = {"sandbox": SandboxGateway()}
