"""The test databases, made once per run: migrating takes some ten seconds of CPU, which every pytest-xdist
worker spent again, and the post_migrate handlers (content types, permissions, roles, payment methods) run again
after each transactional test's flush, a third of a second each.

- In parallel runs the controller migrates one database before the workers start, and each worker takes a
  copy of it (``CREATE DATABASE … TEMPLATE`` on PostgreSQL, a file copy on SQLite) instead of migrating.
- A transactional test's flush empties the tables with DELETE (on PostgreSQL too), and puts back the rows the
  migrated database started with (copied once per worker) instead of making them again through post_migrate. What post_migrate makes after a flush is proven
  by the tests that flush themselves (tests/console/test_roles.py), and migrating by tests/test_migrate.py."""

import os
import warnings
from contextlib import contextmanager
from unittest import mock

from django.apps import apps
from django.core.management.sql import sql_flush
from django.db import connection, connections, transaction
from django.test import TransactionTestCase
from django.test.utils import setup_databases, teardown_databases
from pytest_django.plugin import blocking_manager_key

# The name of the migrated database the workers copy, handed to them by the controller.
TEMPLATE = "test_database_template"


def _parallel_controller(config) -> bool:
    return (
        config.getoption("dist", "no") != "no"
        and not hasattr(config, "workerinput")
        and not config.getoption("collectonly")
        and not config.getoption("reuse_db")
    )


def template_build(config) -> None:
    """In the pytest-xdist controller, before its workers start: migrate the database they will copy."""
    if not _parallel_controller(config):
        return
    # Named apart from the database of a run in one process (-n 0), which may be going on meanwhile.
    root, extension = os.path.splitext(connection.creation._get_test_db_name())  # a SQLite file keeps its own
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{root}_xdist{extension}"
    with config.stash[blocking_manager_key].unblock():
        config.test_database_template = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
        connections.close_all()  # PostgreSQL copies no database that has a session open


def template_hand_over(config, node) -> None:
    if hasattr(config, "test_database_template"):
        node.workerinput[TEMPLATE] = connection.settings_dict["NAME"]


def template_drop(config) -> None:
    if hasattr(config, "test_database_template"):
        with config.stash[blocking_manager_key].unblock():
            _drop_warning_if_in_use(lambda: teardown_databases(config.test_database_template, verbosity=0))


def _drop_warning_if_in_use(drop) -> None:
    try:
        drop()
    except Exception as error:  # as pytest-django does with the databases it made
        warnings.warn(f"A test database was left behind: {error!r}", stacklevel=2)


@contextmanager
def copy_of_the_template(config):
    """In a worker: its own copy of the controller's database, named for the worker, dropped at the end."""
    creation, worker = connection.creation, config.workerinput["workerid"]
    with mock.patch.dict(connection.settings_dict, NAME=config.workerinput[TEMPLATE]):
        creation.clone_test_db(suffix=worker, verbosity=0, autoclobber=True)
        copy = creation.get_test_db_clone_settings(worker)["NAME"]
    # The test database is the copy, which pytest-django then takes as it is (django_db_keepdb).
    connection.settings_dict.setdefault("TEST", {})["NAME"] = copy
    yield
    connection.close()
    _drop_warning_if_in_use(lambda: creation._destroy_test_db(copy, verbosity=0))


class Baseline:
    """The rows of a freshly migrated database, to put back after a flush."""

    def __init__(self):
        self.tables = []
        with connection.cursor() as cursor:
            for model in apps.get_models(include_auto_created=True):
                if not model._meta.managed or model._meta.proxy:
                    continue
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - the models' own tables
                rows = cursor.fetchall()
                if rows:
                    columns = ", ".join(connection.ops.quote_name(column[0]) for column in cursor.description)
                    self.tables.append((table, columns, rows))

    def restore(self, verbosity, interactive, database, **kwargs):
        """Stands for post_migrate after a transactional test's flush."""
        db = connections[database]
        with transaction.atomic(using=database), db.cursor() as cursor:
            for table, columns, rows in self.tables:
                marks = ", ".join(["%s"] * len(rows[0]))
                sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - as read above
                cursor.executemany(sql, rows)


TRIGGERED_TABLES = {
    "postgresql": "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal",
    "sqlite": "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'",
}


def sql_flush_deleting(style, connection, reset_sequences=True, allow_cascade=False):
    """Django flushes PostgreSQL with one TRUNCATE of every table, which makes new files for each table and
    index: a third of a second on an idle machine and seconds on a loaded one, after every transactional test.
    Deleting the few rows a test wrote takes milliseconds; the foreign keys wait for the commit (Django makes
    them deferrable), so the order of the tables does not matter to them. Tables with triggers of their own come
    first: on PostgreSQL truncated (the ledgers refuse deletes; a table with deletes pending their checks cannot
    be truncated), on SQLite deleted — there (Django deletes too) the orders' tally triggers record the
    deletions, in a table emptied after them."""
    if connection.vendor not in TRIGGERED_TABLES or reset_sequences:
        return sql_flush(style, connection, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        cursor.execute(TRIGGERED_TABLES[connection.vendor])
        triggered = sorted({name for (name,) in cursor.fetchall()} & set(tables))
    quoted = connection.ops.quote_name
    rest = [f"DELETE FROM {quoted(table)}" for table in tables if table not in triggered]  # noqa: S608
    if connection.vendor == "sqlite":
        return [f"DELETE FROM {quoted(table)}" for table in triggered] + rest  # noqa: S608
    return ([f"TRUNCATE {', '.join(map(quoted, triggered))} CASCADE"] if triggered else []) + rest


@contextmanager
def flushes_restoring(baseline: Baseline):
    flush_teardown = TransactionTestCase._fixture_teardown

    def _fixture_teardown(test_case):
        with (
            mock.patch("django.core.management.commands.flush.sql_flush", sql_flush_deleting),
            mock.patch("django.core.management.commands.flush.emit_post_migrate_signal", baseline.restore),
        ):
            flush_teardown(test_case)

    with mock.patch.object(TransactionTestCase, "_fixture_teardown", _fixture_teardown):
        yield
