"""The database's own refusal to change a ledger's rows, whatever code (or person with a shell) tries: a
trigger on the ledger's table, made by the ledger's migration (``append_only``)."""

from django.db import migrations


def _sql(*, table: str, trigger: str, function: str, what: str) -> dict[str, tuple[str, str]]:
    """Per database vendor: (make it, undo it)."""
    return {
        "postgresql": (
            f"""
CREATE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{what} are never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
""",
            f"DROP TRIGGER {trigger} ON {table}; DROP FUNCTION {function}();",
        ),
        # SQLite: updates only, because Django's test flush empties tables with DELETE there. IF NOT EXISTS: a
        # migration that rebuilds the table (SQLite's way to change a constraint) makes it again.
        "sqlite": (
            f"""
CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{what} are never changed'); END;
""",
            f"DROP TRIGGER {trigger};",
        ),
    }


def append_only(*, table: str, trigger: str, function: str, what: str):
    """A migration operation making ``table`` append-only (undone when the migration is)."""
    sql = _sql(table=table, trigger=trigger, function=function, what=what)

    def make(apps, schema_editor):
        if statements := sql.get(schema_editor.connection.vendor):
            schema_editor.execute(statements[0])

    def undo(apps, schema_editor):
        if statements := sql.get(schema_editor.connection.vendor):
            schema_editor.execute(statements[1])

    return migrations.RunPython(make, undo)


def sqlite_append_only_again(*, table: str, trigger: str, what: str):
    """SQLite drops a table's triggers when a migration rebuilds it: a function for ``RunPython`` that makes
    ``trigger`` again (at the migration's end when applied, at its start when undone)."""
    statement = _sql(table=table, trigger=trigger, function="", what=what)["sqlite"][0]

    def make(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(statement)

    return make
