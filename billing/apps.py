from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Balances and ledger"

    def ready(self):
        from billing import checks  # noqa: F401 - registers the payment configuration checks
