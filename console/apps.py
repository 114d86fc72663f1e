from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_in_step(sender, **kwargs):
    from console.roles import roles_sync

    roles_sync()


def _cache_tables_in_step(sender, using, **kwargs):
    """The database cache (the embedded default) needs its table: made here so that ``migrate`` alone gives a
    working panel, and again after a change of cache settings. Nothing happens for other cache backends."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class ConsoleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "console"
    verbose_name = "Operator console"

    def ready(self):
        # After the auth app's own post_migrate handler has made the permissions of new models.
        post_migrate.connect(_roles_in_step, sender=self, dispatch_uid="console-roles")
        post_migrate.connect(_cache_tables_in_step, sender=self, dispatch_uid="console-cache-tables")
