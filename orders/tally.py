"""The orders' figures by day, kept as they change, so that the dashboard adds up days, not orders.

Database triggers on ``orders_order`` append a row to ``OrderTallyChange`` for every change of what the
dashboard adds up — an order inserted (+), deleted (-), or updated in its day, provider, service, status,
cost currency, charge, refund, cost or times (- the old figures, + the new) — whatever made the change: the
ORM, the status sync's bulk updates, raw SQL (an update of none of those columns writes nothing).
``tally_fold`` (beat, every minute) moves them into ``OrderTally``, one row per (day, provider, service,
status, cost currency); ``tally`` reads the folded rows plus the changes not folded yet, so the figures are
exact at any moment, however late the fold.

SQLite drops a table's triggers when a migration rebuilds it: ``tally_triggers_make`` runs again after every
``migrate`` (``orders.apps``), and ``tests/orders/test_tally.py`` checks they are there.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate

from orders.models import OrderTally, OrderTallyChange

KEY = ("day", "provider_id", "service_id", "status", "cost_currency")
MEASURES = ("orders", "revenue", "cost", "costed", "completion", "timed")
# The columns of the orders the figures depend on: a change of any of them is a change of the figures.
WATCHED = (
    "created_at",
    "provider_id",
    "service_id",
    "status",
    "cost_currency",
    "charge",
    "refunded",
    "cost",
    "sent_at",
    "finished_at",
)
# Changes folded per transaction.
FOLD_CHUNK = 5000

_CHANGE_COLUMNS = "created_at, provider_id, service_id, status, cost_currency, " + ", ".join(MEASURES)


def _figures(row: str, sign: str, completion: str) -> str:
    """The change row of order ``row`` (``NEW``, ``OLD`` or a transition table's alias), signed."""
    return (
        f"{row}.created_at, {row}.provider_id, {row}.service_id, {row}.status, {row}.cost_currency, {sign}1, "
        f"{sign}({row}.charge - {row}.refunded), {sign}COALESCE({row}.cost, 0), "
        f"{sign}CAST({row}.cost IS NOT NULL AS integer), {sign}{completion.format(row=row)}, "
        f"{sign}CAST({row}.finished_at IS NOT NULL AND {row}.sent_at IS NOT NULL AS integer)"
    )


_PG_COMPLETION = "COALESCE({row}.finished_at - {row}.sent_at, interval '0')"
# SQLite keeps a duration as microseconds, a moment as text ('YYYY-MM-DD HH:MM:SS[.ffffff]', UTC): whole
# seconds and microseconds apart, exact (julianday is off by a few microseconds).
_SQLITE_MICROSECONDS = (
    "(CAST(strftime('%s', {at}) AS integer) * 1000000 + CAST(substr({at} || '.000000', 21, 6) AS integer))"
)
_SQLITE_COMPLETION = "COALESCE({finished} - {sent}, 0)".format(
    finished=_SQLITE_MICROSECONDS.format(at="{row}.finished_at"),
    sent=_SQLITE_MICROSECONDS.format(at="{row}.sent_at"),
)
_CHANGED = "({old}) IS DISTINCT FROM ({new})".format(
    old=", ".join(f"OLD.{column}" for column in WATCHED), new=", ".join(f"NEW.{column}" for column in WATCHED)
)
_TABLE = OrderTallyChange._meta.db_table
_INSERT = f"INSERT INTO {_TABLE} ({_CHANGE_COLUMNS}) VALUES"

# PostgreSQL. Inserts and deletes: statement triggers with a transition table, one INSERT per statement
# however many rows it wrote. Updates: a row trigger whose WHEN, checked before any function is called,
# passes only the rows whose figures changed — most updates (the status sync's figures and sync times, a
# sending claim) cost nothing; a transition-table join of every updated row cost 5 to 20 ms per 100.
_POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION orders_tally_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {_TABLE} ({_CHANGE_COLUMNS}) SELECT {_figures("n", "", _PG_COMPLETION)} FROM added n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {_TABLE} ({_CHANGE_COLUMNS}) SELECT {_figures("o", "-", _PG_COMPLETION)} FROM removed o;
    ELSE
        {_INSERT} ({_figures("OLD", "-", _PG_COMPLETION)}), ({_figures("NEW", "", _PG_COMPLETION)});
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER orders_tally_insert AFTER INSERT ON orders_order REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION orders_tally_change();
DROP TRIGGER IF EXISTS orders_tally_update ON orders_order;
CREATE TRIGGER orders_tally_update AFTER UPDATE ON orders_order FOR EACH ROW WHEN ({_CHANGED})
    EXECUTE FUNCTION orders_tally_change();
CREATE OR REPLACE TRIGGER orders_tally_delete AFTER DELETE ON orders_order REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION orders_tally_change();
"""  # noqa: S608 - no outside text in the SQL
_SQLITE_CHANGED = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in WATCHED)
_SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS orders_tally_insert AFTER INSERT ON orders_order BEGIN
    {_INSERT} ({_figures("NEW", "", _SQLITE_COMPLETION)}); END""",
    f"""CREATE TRIGGER IF NOT EXISTS orders_tally_delete AFTER DELETE ON orders_order BEGIN
    {_INSERT} ({_figures("OLD", "-", _SQLITE_COMPLETION)}); END""",
    f"""CREATE TRIGGER IF NOT EXISTS orders_tally_update AFTER UPDATE ON orders_order WHEN {_SQLITE_CHANGED}
    BEGIN
    {_INSERT} ({_figures("OLD", "-", _SQLITE_COMPLETION)});
    {_INSERT} ({_figures("NEW", "", _SQLITE_COMPLETION)}); END""",
]
TRIGGERS = ("orders_tally_insert", "orders_tally_update", "orders_tally_delete")


def tally_triggers_make(using) -> None:
    """Make (or make again) the triggers that feed ``OrderTallyChange``, on the connection ``using``."""
    with using.cursor() as cursor:
        if using.vendor == "postgresql":
            cursor.execute(_POSTGRESQL)
        elif using.vendor == "sqlite":
            for statement in _SQLITE:
                cursor.execute(statement)


def tally_triggers_drop(using) -> None:
    with using.cursor() as cursor:
        for trigger in TRIGGERS:
            cursor.execute(
                f"DROP TRIGGER IF EXISTS {trigger} ON orders_order"
                if using.vendor == "postgresql"
                else f"DROP TRIGGER IF EXISTS {trigger}"
            )
        if using.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS orders_tally_change()")


def tally_backfill(using) -> None:
    """A change for every order there is (the migration's start of the tally)."""
    completion = _PG_COMPLETION if using.vendor == "postgresql" else _SQLITE_COMPLETION
    with using.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} ({_CHANGE_COLUMNS}) "  # noqa: S608 - no outside text in the SQL
            f"SELECT {_figures('o', '', completion)} FROM orders_order o"
        )


@dataclass
class Figures:
    """The sums of a group of orders."""

    orders: int = 0
    revenue: Decimal = Decimal(0)  # charges less refunds
    cost: Decimal = Decimal(0)  # of the ``costed`` orders, in the group's cost currency
    costed: int = 0
    completion: timedelta = field(default_factory=timedelta)  # sent to finished, of the ``timed`` orders
    timed: int = 0

    def add(self, row: dict) -> None:
        for name in MEASURES:
            setattr(self, name, getattr(self, name) + (row[name] or type(getattr(self, name))()))

    @property
    def average_completion(self) -> timedelta | None:
        return self.completion / self.timed if self.timed else None


def _sums() -> dict:
    return {f"sum_{name}": Sum(name) for name in MEASURES}


def tally(*by: str, since: date | None = None, leaving_out: tuple[str, ...] = ()) -> dict[tuple, Figures]:
    """The figures of the orders placed on ``since`` or later (all when None), but for those in the statuses
    ``leaving_out``, by the fields ``by`` (of ``KEY``): the folded tally plus the changes not folded yet, each
    added up by the database. Two queries, however many orders; a row of Python per group of ``by``."""
    folded = OrderTally.objects.all()
    pending = OrderTallyChange.objects.annotate(day=TruncDate("created_at"))
    if since is not None:
        folded, pending = folded.filter(day__gte=since), pending.filter(day__gte=since)
    if leaving_out:
        folded, pending = folded.exclude(status__in=leaving_out), pending.exclude(status__in=leaving_out)
    figures: dict[tuple, Figures] = {}
    for rows in (folded, pending):
        for row in rows.values(*by).annotate(**_sums()).order_by():
            key = tuple(row[name] for name in by)
            figures.setdefault(key, Figures()).add({name: row[f"sum_{name}"] for name in MEASURES})
    return figures


_FOLD_SQL = (
    f"INSERT INTO {OrderTally._meta.db_table} ({', '.join(KEY + MEASURES)}) "  # noqa: S608 - no outside text
    f"VALUES ({', '.join(['%s'] * len(KEY + MEASURES))}) "
    f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
    + ", ".join(f"{name} = {OrderTally._meta.db_table}.{name} + excluded.{name}" for name in MEASURES)
)


def tally_fold(*, chunk: int = FOLD_CHUNK) -> int:
    """Move the changes into ``OrderTally``, ``chunk`` at a time, each chunk added up and deleted in one
    transaction; returns how many were folded. Safe to run twice at once: each run takes changes the other
    has not locked, and adds to the tally in the database (the rows in key order: no deadlock)."""
    folded = 0
    while True:
        with transaction.atomic():
            ids = list(
                OrderTallyChange.objects.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                return folded
            changes = OrderTallyChange.objects.filter(pk__in=ids)
            rows = sorted(
                changes.annotate(day=TruncDate("created_at")).values(*KEY).annotate(**_sums()).order_by(),
                key=lambda row: tuple(str(row[name]) for name in KEY),
            )
            columns = [OrderTally._meta.get_field(name.removesuffix("_id")) for name in KEY + MEASURES]
            values = [
                [
                    column.get_db_prep_save(row[name] if name in KEY else row[f"sum_{name}"], connection)
                    for column, name in zip(columns, KEY + MEASURES, strict=True)
                ]
                for row in rows
            ]
            with connection.cursor() as cursor:
                cursor.executemany(_FOLD_SQL, values)
            changes.delete()
            # A group every order left (they all moved on): its sums are all zero.
            OrderTally.objects.filter(orders=0, day__in={row["day"] for row in rows}).delete()
        folded += len(ids)
