from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue and prices"

    def ready(self):
        from catalogue import following, receivers  # noqa: F401 - connect the receivers
