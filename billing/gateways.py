"""The payment processors customers may be offered, and which of them they are.

A processor payment goes: ``start`` creates it at the processor and gives the URL of its hosted payment page,
where the customer is redirected; the processor then notifies us, signed, of what happened
(``billing.topups.topup_notification``). Only a notification whose signature verifies moves a top-up, and each
moves it once however often it is repeated.

Customers are offered the processors named in ``PAYMENT_GATEWAYS`` and no others. The sandbox credits a
balance without any money moving, so it exists only where the settings allow it (``PAYMENT_SANDBOX_ALLOWED``:
the demo and the tests); production refuses it at startup (``billing.checks``) and here, at every request.
"""

from django.conf import settings

from billing.processors.base import Processor
from billing.processors.nowpayments import NowPaymentsProcessor
from billing.processors.sandbox import SandboxProcessor
from billing.processors.stripe import StripeProcessor


class GatewayNotEnabled(LookupError):
    """No such processor here: unknown, not in ``PAYMENT_GATEWAYS``, or the sandbox where not allowed."""


# Every processor this code implements; which of them customers are offered is configuration.
GATEWAYS: dict[str, Processor] = {
    "stripe": StripeProcessor(),
    "nowpayments": NowPaymentsProcessor(),
    "sandbox": SandboxProcessor(),
}
# The settings without which a processor can neither start a payment nor verify a notification.
SECRETS = {
    "stripe": ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"),
    "nowpayments": ("NOWPAYMENTS_API_KEY", "NOWPAYMENTS_IPN_SECRET"),
    "sandbox": ("SANDBOX_GATEWAY_SECRET",),
}


def missing_secrets(name: str) -> list[str]:
    return [setting for setting in SECRETS.get(name, ()) if not getattr(settings, setting)]


def _allowed(name: str) -> bool:
    if name == "sandbox" and not settings.PAYMENT_SANDBOX_ALLOWED:  # credits with no money moving
        return False
    return name in GATEWAYS and not missing_secrets(name)


def enabled_gateways() -> dict[str, Processor]:
    """The processors customers are offered, in the order of ``PAYMENT_GATEWAYS``."""
    return {name: GATEWAYS[name] for name in settings.PAYMENT_GATEWAYS if _allowed(name)}


def enabled_gateway(name: str) -> Processor:
    """The processor ``name`` if customers may use it; ``GatewayNotEnabled`` otherwise."""
    gateway = enabled_gateways().get(name)
    if gateway is None:
        raise GatewayNotEnabled(name)
    return gateway
