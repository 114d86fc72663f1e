from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _payment_methods_to_start_with(sender, using, apps=global_apps, **kwargs):
    """A panel with no payment method at all (a new install, a test database flushed between transactional
    tests) gets one per processor, as ``billing/0006`` gave existing ones; while any method exists, none is
    made or changed."""
    from billing.methods import payment_methods_default

    try:
        PaymentMethod = apps.get_model("billing", "PaymentMethod")
    except LookupError:  # migrated back to before payment methods
        return
    payment_methods_default(PaymentMethod, using=using)


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Balances and ledger"

    def ready(self):
        from billing import checks  # noqa: F401 - registers the payment configuration checks

        post_migrate.connect(_payment_methods_to_start_with, sender=self, dispatch_uid="billing-methods")
