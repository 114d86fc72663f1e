"""The payment methods a panel starts with: one per processor (a processor is offered only where
``PAYMENT_GATEWAYS`` enables it and its secrets are set; a manual method always)."""

DEFAULT_METHODS = [
    ("manual", "Manual payment", "manual", 0),
    ("stripe", "Card (Stripe)", "stripe", 10),
    ("nowpayments", "Crypto (NOWPayments)", "nowpayments", 20),
    ("sandbox", "Sandbox card gateway", "sandbox", 30),
]


def payment_methods_default(PaymentMethod, *, using: str = "default") -> None:
    """Create the default methods when there is no method at all (``PaymentMethod``: the model, or its
    historical version in a migration)."""
    methods = PaymentMethod.objects.using(using)
    if methods.exists():
        return
    methods.bulk_create(
        PaymentMethod(code=code, name=name, processor=processor, position=position)
        for code, name, processor, position in DEFAULT_METHODS
    )
