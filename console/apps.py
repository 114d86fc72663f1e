from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_in_step(sender, **kwargs):
    from console.roles import roles_sync

    roles_sync()


class ConsoleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "console"
    verbose_name = "Operator console"

    def ready(self):
        # After the auth app's own post_migrate handler has made the permissions of new models.
        post_migrate.connect(_roles_in_step, sender=self, dispatch_uid="console-roles")
