"""System checks on the payment configuration: a panel that would let customers pay with the sandbox, or
accept callbacks signed with a weak secret, refuses to start (``manage.py check``, ``migrate``,
``check --deploy``). ``billing.gateways`` refuses the same at every request, for a process that never ran
the checks (gunicorn, a worker)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from billing.gateways import GATEWAYS, missing_secrets


@register(Tags.security)
def payment_gateways_check(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    enabled = settings.PAYMENT_GATEWAYS
    if unknown := [name for name in enabled if name not in GATEWAYS]:
        errors.append(
            Error(
                f"PAYMENT_GATEWAYS names unknown gateways: {', '.join(unknown)}.",
                hint=f"Gateways this panel has: {', '.join(GATEWAYS)}.",
                id="billing.E001",
            )
        )
    errors.extend(
        Error(
            f"The {name} payment processor is enabled without {', '.join(missing_secrets(name))}.",
            hint="Set them from the processor's dashboard, or remove it from PAYMENT_GATEWAYS.",
            id="billing.E005",
        )
        for name in enabled
        if name != "sandbox" and name in GATEWAYS and missing_secrets(name)
    )
    if "sandbox" not in enabled:
        return errors
    if not settings.PAYMENT_SANDBOX_ALLOWED:
        errors.append(
            Error(
                "The sandbox payment gateway is enabled under settings that do not allow it: it credits "
                "balances without any money moving.",
                hint="Remove 'sandbox' from PAYMENT_GATEWAYS; it is for the demo and the tests only.",
                id="billing.E002",
            )
        )
    secret = settings.SANDBOX_GATEWAY_SECRET
    if not secret:
        errors.append(
            Error(
                "The sandbox payment gateway is enabled without SANDBOX_GATEWAY_SECRET.",
                hint="Set SANDBOX_GATEWAY_SECRET to a random string of its own.",
                id="billing.E003",
            )
        )
    elif secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        errors.append(
            Error(
                "SANDBOX_GATEWAY_SECRET is the SECRET_KEY: a payment secret must be its own.",
                hint="Set SANDBOX_GATEWAY_SECRET to a random string used nowhere else.",
                id="billing.E004",
            )
        )
    return errors
