"""The database itself refuses to change affiliate ledger rows, as it does the main ledger's (billing 0002)."""

from django.db import migrations

POSTGRES = """
CREATE FUNCTION referrals_ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'affiliate ledger entries are never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER referrals_ledger_append_only BEFORE UPDATE OR DELETE ON referrals_affiliateentry
    FOR EACH ROW EXECUTE FUNCTION referrals_ledger_is_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER referrals_ledger_append_only ON referrals_affiliateentry;
DROP FUNCTION referrals_ledger_is_append_only();
"""
# SQLite: updates only, because Django's test flush empties tables with DELETE there.
SQLITE = """
CREATE TRIGGER referrals_ledger_append_only BEFORE UPDATE ON referrals_affiliateentry
BEGIN SELECT RAISE(ABORT, 'affiliate ledger entries are never changed'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER referrals_ledger_append_only;"


def install(apps, schema_editor):
    sql = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    sql = {"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_affiliates_referrals_payouts")]

    operations = [migrations.RunPython(install, uninstall)]
