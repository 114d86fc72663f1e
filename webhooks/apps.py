from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks for resellers"

    def ready(self):
        from orders.models import Order, Refill
        from reseller.states import public_status_changed
        from webhooks import checks  # noqa: F401 - registers the deploy check
        from webhooks.services import on_public_status_changed

        for model in (Order, Refill):
            public_status_changed.connect(
                on_public_status_changed, sender=model, dispatch_uid=f"webhooks-{model}"
            )
