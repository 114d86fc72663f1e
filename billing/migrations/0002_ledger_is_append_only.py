"""The database itself refuses to change ledger rows, whatever code (or person with a shell) tries."""

from django.db import migrations

from reseller.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        append_only(
            table="billing_ledgerentry",
            trigger="billing_ledger_append_only",
            function="billing_ledger_is_append_only",
            what="ledger entries",
        )
    ]
