"""Many rows of one table written in one statement, each with values of its own."""

from collections.abc import Collection, Mapping, Sequence

from django.db import connection
from django.db.models import Model


def rows_update(model, rows: Sequence[tuple[object, Mapping, Mapping]]) -> int:
    """For each ``(pk, values, expected)`` set the row's fields to ``values`` where its fields still equal
    ``expected`` (a compare-and-set; empty: no condition). Every row names the same fields. Returns how
    many rows changed.

    On PostgreSQL one ``UPDATE … FROM unnest(…)``, an array per field (scalar types; no JSON): Django's
    ``bulk_update`` builds a CASE per field and row (~150 ms of CPU per 100 rows), and a ``VALUES`` list has a
    placeholder per field and row, a statement too long for psycopg's cache of parsed queries. Elsewhere one
    ``UPDATE`` per row.
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
    # One array per column: a short statement whatever the rows, parsed once by psycopg and the server.
    columns = zip(*([pk, *values.values(), *expected.values()] for pk, values, expected in rows), strict=True)
    # As they are: psycopg adapts them and the casts give them the columns' types (a field's own conversion,
    # per row and field, cost more CPU than the statement).
    params = [list(column) for column in columns]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    assignments = ", ".join(f"{field.column} = v.set_{field.column}" for field in setting)
    conditions = "".join(f" AND t.{field.column} = v.was_{field.column}" for field in matching)
    sql = (
        f"UPDATE {meta.db_table} AS t SET {assignments} "  # noqa: S608 - names from the model, values as parameters
        f"FROM unnest({arrays}) AS v({', '.join(aliases)}) WHERE t.{meta.pk.column} = v.pk{conditions}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def instances_update(instances: Sequence[Model], fields: Sequence[str]) -> None:
    """Save ``fields`` of each of ``instances`` (all of one model), as Django's ``bulk_update`` does. On
    PostgreSQL one ``rows_update``: ``bulk_update``'s CASE has a branch per row, which the database walks for
    every row — 5,000 services repriced took minutes. Elsewhere ``bulk_update``, whose batches SQLite's
    999-parameter limit keeps short."""
    if not instances:
        return
    model = type(instances[0])
    if connection.vendor != "postgresql":
        model._base_manager.bulk_update(instances, fields)
        return
    rows_update(
        model, [(item.pk, {field: getattr(item, field) for field in fields}, {}) for item in instances]
    )


def rows_insert_new(model, rows: Sequence[Mapping], *, unique: str) -> list:
    """Insert each of ``rows`` (field name → value, the model's defaults for the others) whose ``unique``
    field holds a value no row holds yet; returns the primary keys of the rows inserted, in order. A value
    another transaction inserts meanwhile is skipped, not an error (the statement waits for that one's end).

    On PostgreSQL one ``INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING RETURNING``, an array per
    column (scalar types; no JSON) as ``rows_update`` writes; elsewhere ``get_or_create`` per row.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        made = [
            model._base_manager.get_or_create(**{unique: values[unique]}, defaults=values) for values in rows
        ]
        return [instance.pk for instance, created in made if created]
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    instances = [model(**values) for values in rows]
    params = [[field.pre_save(instance, True) for instance in instances] for field in fields]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sql = (
        f"INSERT INTO {meta.db_table} ({', '.join(field.column for field in fields)}) "  # noqa: S608 - names from the model
        f"SELECT * FROM unnest({arrays}) ON CONFLICT ({meta.get_field(unique).column}) DO NOTHING "
        f"RETURNING {meta.pk.column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(pk for (pk,) in cursor.fetchall())


def rows_of_pks(model, pks: Collection[int], fields: Sequence[str], **equal) -> list[tuple]:
    """``(pk, *fields)`` of each row whose (integer) primary key is one of ``pks`` and whose fields equal
    ``equal`` (field name → value), in no order.

    On PostgreSQL one ``SELECT … WHERE pk = ANY(%s)`` with the keys as one array literal: the ORM's
    ``pk__in`` prepares a placeholder per key and makes a statement too long for psycopg's cache of parsed
    queries (for 100 ids, most of API v2 ``status``'s CPU), and psycopg's adaptation of a list costs as much
    as the text of its numbers. Elsewhere ``values_list`` of ``pk__in``.
    """
    if connection.vendor != "postgresql":
        return list(model._base_manager.filter(pk__in=pks, **equal).values_list("pk", *fields))
    meta = model._meta
    columns = ", ".join([meta.pk.column, *(meta.get_field(name).column for name in fields)])
    conditions = "".join(f" AND {meta.get_field(name).column} = %s" for name in equal)
    sql = (
        f"SELECT {columns} FROM {meta.db_table} "  # noqa: S608 - names from the model, values as parameters
        f"WHERE {meta.pk.column} = ANY(%s::{meta.pk.db_type(connection)}[]){conditions}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["{" + ",".join(map(str, map(int, pks))) + "}", *equal.values()])
        return cursor.fetchall()
