"""The database itself refuses to change affiliate ledger rows, as it does the main ledger's (billing 0002)."""

from django.db import migrations

from reseller.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_affiliates_referrals_payouts")]

    operations = [
        append_only(
            table="referrals_affiliateentry",
            trigger="referrals_ledger_append_only",
            function="referrals_ledger_is_append_only",
            what="affiliate ledger entries",
        )
    ]
