"""The database itself refuses to change ledger rows, whatever code (or person with a shell) tries."""

from django.db import migrations

POSTGRES = """
CREATE FUNCTION billing_ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER billing_ledger_append_only BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_is_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER billing_ledger_append_only ON billing_ledgerentry;
DROP FUNCTION billing_ledger_is_append_only();
"""
# SQLite: updates only, because Django's test flush empties tables with DELETE there.
SQLITE = """
CREATE TRIGGER billing_ledger_append_only BEFORE UPDATE ON billing_ledgerentry
BEGIN SELECT RAISE(ABORT, 'ledger entries are never changed'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER billing_ledger_append_only;"


def install(apps, schema_editor):
    sql = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    sql = {"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
