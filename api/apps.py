from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "APIs for resellers"

    def ready(self):
        from api import receivers, schema  # noqa: F401 - connect the receivers, register the schema extension
