from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Storefront and orders"

    def ready(self):
        from orders import storefront  # noqa: F401 - connects the catalogue_synced receiver
