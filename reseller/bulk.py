"""Many rows of one table changed in one statement, each with values of its own."""

from collections.abc import Mapping, Sequence

from django.db import connection


def rows_update(model, rows: Sequence[tuple[object, Mapping, Mapping]]) -> int:
    """For each ``(pk, values, expected)`` set the row's fields to ``values`` where its fields still equal
    ``expected`` (a compare-and-set; empty: no condition). Every row names the same fields. Returns how
    many rows changed.

    On PostgreSQL one ``UPDATE … FROM (VALUES …)``: Django's ``bulk_update`` builds a CASE per field and
    row, which costs ~150 ms of CPU per 100 rows; elsewhere one ``UPDATE`` per row.
    """
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        return sum(
            model._base_manager.filter(pk=pk, **expected).update(**values) for pk, values, expected in rows
        )
    meta = model._meta
    _, first_values, first_expected = rows[0]
    setting = [meta.get_field(name) for name in first_values]
    matching = [meta.get_field(name) for name in first_expected]
    fields = [meta.pk, *setting, *matching]
    aliases = [
        "pk",
        *(f"set_{field.column}" for field in setting),
        *(f"was_{field.column}" for field in matching),
    ]
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in fields) + ")"
    params = [
        field.get_db_prep_save(value, connection)
        for pk, values, expected in rows
        for field, value in zip(fields, [pk, *values.values(), *expected.values()], strict=True)
    ]
    assignments = ", ".join(f"{field.column} = v.set_{field.column}" for field in setting)
    conditions = "".join(f" AND t.{field.column} = v.was_{field.column}" for field in matching)
    sql = (
        f"UPDATE {meta.db_table} AS t SET {assignments} "  # noqa: S608 - names from the model, values as parameters
        f"FROM (VALUES {', '.join([row] * len(rows))}) AS v({', '.join(aliases)}) "
        f"WHERE t.{meta.pk.column} = v.pk{conditions}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
