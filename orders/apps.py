from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _tally_triggers_again(using, **kwargs) -> None:
    """SQLite drops a table's triggers when a migration rebuilds it (its way to alter a table): the tally's
    are made again after every ``migrate``, once their table is there."""
    from django.db import connections

    from orders.models import OrderTallyChange
    from orders.tally import tally_triggers_make

    connection = connections[using]
    if (
        connection.vendor == "sqlite"
        and OrderTallyChange._meta.db_table in connection.introspection.table_names()
    ):
        tally_triggers_make(connection)


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        post_migrate.connect(_tally_triggers_again, sender=self)
