"""Many rows of one table written in one statement, each with values of its own.

On PostgreSQL the rows travel as one JSON document, an array per row (``jsonb_array_elements``), each value
cast to its column's type in the statement. One parameter whatever the rows: Django's ``bulk_update`` builds a
CASE per field and row (~150 ms of CPU per 100 rows); a ``VALUES`` list has a placeholder per field and row, a
statement too long for psycopg's cache of parsed queries; and an array per column (``unnest``, as Django's
``bulk_create`` sends them) is quoted by psycopg value by value, in Python — ~3 µs a value, most of a status
sync's batch. ``json.dumps`` writes the whole document in C. Scalar columns only (no JSON fields).
"""

import datetime
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from functools import cache
from operator import attrgetter

from django.db import connection
from django.db.models import DateField, Field, Model


def rows_update(model, rows: Sequence[tuple[object, Mapping, Mapping]]) -> int:
    """For each ``(pk, values, expected)`` set the row's fields to ``values`` where its fields still equal
    ``expected`` (a compare-and-set; empty: no condition). Every row names the same fields. Returns how
    many rows changed.

    On PostgreSQL one ``UPDATE … FROM`` the rows' document; elsewhere one ``UPDATE`` per row.
    """
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        return sum(
            model._base_manager.filter(pk=pk, **expected).update(**values) for pk, values, expected in rows
        )
    _, first_values, first_expected = rows[0]
    sql = _update_sql(model, tuple(first_values), tuple(first_expected))
    document = _rows_document([pk, *values.values(), *expected.values()] for pk, values, expected in rows)
    with connection.cursor() as cursor:
        cursor.execute(sql, [document])
        return cursor.rowcount


@cache
def _update_sql(model, setting: tuple[str, ...], matching: tuple[str, ...]) -> str:
    """``rows_update``'s statement for ``model``, setting the fields named ``setting`` where those named
    ``matching`` are as expected: written once per shape, not per batch."""
    meta = model._meta
    setting_fields = [meta.get_field(name) for name in setting]
    matching_fields = [meta.get_field(name) for name in matching]
    aliases = [
        "pk",
        *(f"set_{field.column}" for field in setting_fields),
        *(f"was_{field.column}" for field in matching_fields),
    ]
    assignments = ", ".join(f"{field.column} = v.set_{field.column}" for field in setting_fields)
    conditions = "".join(f" AND t.{field.column} = v.was_{field.column}" for field in matching_fields)
    return (
        f"UPDATE {meta.db_table} AS t SET {assignments} "  # noqa: S608 - names from the model, values as parameters
        f"FROM ({_rows_select([meta.pk, *setting_fields, *matching_fields], aliases)}) AS v "
        f"WHERE t.{meta.pk.column} = v.pk{conditions}"
    )


def rows_insert(instances: Sequence) -> None:
    """Insert ``instances`` (unsaved, of one model) and give each its primary key, as ``bulk_create`` does —
    without its preparation of every value, which costs more CPU than the statement. No signals (neither
    sends ``bulk_create``).

    On PostgreSQL one ``INSERT … SELECT … RETURNING`` from the rows' document (the keys come back in the rows'
    order, as ``bulk_create`` relies on); elsewhere ``bulk_create``.
    """
    if not instances:
        return
    model = type(instances[0])
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(instances)
        return
    for instance, pk in zip(instances, _inserted(model, instances), strict=True):
        instance.pk = pk
        instance._state.adding, instance._state.db = False, connection.alias


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

    On PostgreSQL one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` from the rows' document;
    elsewhere ``get_or_create`` per row.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        made = [
            model._base_manager.get_or_create(**{unique: values[unique]}, defaults=values) for values in rows
        ]
        return [instance.pk for instance, created in made if created]
    instances = [model(**values) for values in rows]
    return sorted(_inserted(model, instances, unique=unique))


def _inserted(model, instances: Sequence, *, unique: str | None = None) -> list:
    """Insert ``instances`` in one statement (skipping those whose ``unique`` field holds a value a row
    holds already); the primary keys of the rows inserted."""
    sql, saved_values = _insert_plan(model, unique)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_rows_document(map(saved_values, instances))])
        return [pk for (pk,) in cursor.fetchall()]


@cache
def _insert_plan(model, unique: str | None):
    """``_inserted``'s statement for ``model``, and the function giving an instance's values for it: made
    once per model, not per batch."""
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    conflict = f" ON CONFLICT ({meta.get_field(unique).column}) DO NOTHING" if unique else ""
    sql = (
        f"INSERT INTO {meta.db_table} ({', '.join(field.column for field in fields)}) "
        f"{_rows_select(fields, [field.column for field in fields])}{conflict} RETURNING {meta.pk.column}"
    )
    return sql, _saved_values(fields)


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


def _saved_values(fields: Sequence):
    """A function of an instance giving the values ``save`` writes of ``fields``: the attributes, read at
    once, but for the fields that fill their value in when saved (``auto_now``, ``auto_now_add``)."""
    names = [field.attname for field in fields]
    read = attrgetter(*names) if len(names) > 1 else lambda instance: (getattr(instance, names[0]),)
    filled = [n for n, field in enumerate(fields) if _fills(field)]
    if not filled:
        return read

    def values(instance) -> list:
        row = list(read(instance))
        for n in filled:
            row[n] = fields[n].pre_save(instance, True)
        return row

    return values


def _fills(field) -> bool:
    """Whether ``field.pre_save`` may write another value than the attribute's."""
    if type(field).pre_save is Field.pre_save:
        return False
    return not isinstance(field, DateField) or field.auto_now or field.auto_now_add


def _rows_select(fields: Sequence, aliases: Sequence[str]) -> str:
    """``SELECT`` of the rows' document (the statement's one parameter): each row's n-th value cast to the
    n-th field's column type, named by the n-th alias."""
    values = ", ".join(
        f"(r ->> {n})::{_cast_type(field)} AS {alias}"
        for n, (field, alias) in enumerate(zip(fields, aliases, strict=True))
    )
    return f"SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS r"  # noqa: S608 - names from the model


def _cast_type(field) -> str:
    """The column's type, a character type without its length: a cast to ``varchar(n)`` would cut a longer
    value short, where writing it to the column refuses it."""
    db_type = field.db_type(connection)
    return "text" if db_type.startswith("varchar") else db_type


def _rows_document(rows) -> str:
    return json.dumps(list(rows), default=_json_text, separators=(",", ":"), check_circular=False)


def _json_text(value) -> str:
    """A value JSON has no type for, as text its column's type reads exactly (a ``Decimal`` never goes through
    a float)."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a scalar column value reseller.bulk writes")
