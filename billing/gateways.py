"""Payment gateways: the interface a real card/crypto gateway implements, and the sandbox one.

A gateway payment goes: ``start`` gives the URL of the gateway's payment page, where the customer is
redirected; the gateway then calls our callback with a signed message saying what happened. Only a callback
whose signature verifies can credit a balance, and it credits once however often it is repeated.

Customers are offered the gateways named in ``PAYMENT_GATEWAYS`` and no others. The sandbox credits a balance
without any money moving, so it exists only where the settings allow it (``PAYMENT_SANDBOX_ALLOWED``: the
demo and the tests); production refuses it at startup (``billing.checks``) and here, at every request.
"""

import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse


class BadSignature(Exception):
    """The callback was not signed by the gateway: ignored."""


class GatewayNotEnabled(LookupError):
    """No such gateway here: unknown, not in ``PAYMENT_GATEWAYS``, or the sandbox where it is not allowed."""


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
    secret = settings.SANDBOX_GATEWAY_SECRET
    if not secret:  # an empty key would let anyone sign a payment
        raise ImproperlyConfigured("SANDBOX_GATEWAY_SECRET is not set.")
    message = "&".join(f"{name}={fields[name]}" for name in sorted(fields))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class SandboxGateway:
    """A stand-in for a hosted payment page, served by this panel under /funds/sandbox/ so the whole flow
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


# Every gateway this code implements; which of them customers are offered is configuration.
GATEWAYS: dict[str, PaymentGateway] = {"sandbox": SandboxGateway()}


def _allowed(name: str) -> bool:
    if name == "sandbox":  # never where the settings forbid it, nor without its own secret
        return settings.PAYMENT_SANDBOX_ALLOWED and bool(settings.SANDBOX_GATEWAY_SECRET)
    return name in GATEWAYS


def enabled_gateways() -> dict[str, PaymentGateway]:
    """The gateways customers are offered, in the order of ``PAYMENT_GATEWAYS``."""
    return {name: GATEWAYS[name] for name in settings.PAYMENT_GATEWAYS if _allowed(name)}


def enabled_gateway(name: str) -> PaymentGateway:
    """The gateway ``name`` if customers may use it; ``GatewayNotEnabled`` otherwise."""
    gateway = enabled_gateways().get(name)
    if gateway is None:
        raise GatewayNotEnabled(name)
    return gateway
