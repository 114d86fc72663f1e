from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue and prices"

    def ready(self):
        from catalogue import following  # noqa: F401 - connects the catalogue_synced receiver
