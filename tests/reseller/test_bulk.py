"""Many rows in one statement (``reseller.bulk``): every value arrives as it was — money to the last digit,
times to the microsecond, text whole or refused, nothing cut short — each instance gets its own key, and a
compare-and-set changes only the rows still as expected."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import Account, LedgerEntry
from notifications.kinds import CustomerKind as K
from notifications.models import Notification
from reseller.bulk import rows_insert, rows_insert_new, rows_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    return [Account.objects.create(user=User.objects.create_user(f"bulk-{n}")) for n in range(3)]


def entry(account, amount, **fields):
    return LedgerEntry(
        account=account, kind=LedgerEntry.Kind.DEPOSIT, amount=amount, balance_after=amount, **fields
    )


def test_inserted_rows_get_their_own_keys_and_keep_every_value_exactly(accounts):
    when = datetime(2026, 12, 1, 4, 5, 6, 123456, tzinfo=UTC)
    entries = [
        entry(
            accounts[0],
            Decimal("0.0135"),
            reason='quotes " and \\ and ünïcode, {braces}, NULL',
            created_at=when,
        ),
        entry(accounts[1], Decimal("12345678.9999"), idempotency_key="bulk:1", reference=""),
        entry(accounts[2], Decimal("1E+2")),
    ]

    with CaptureQueriesContext(connection) as queries:
        rows_insert(entries)

    if connection.vendor == "postgresql":
        assert len(queries) == 1
    assert all(not e._state.adding for e in entries)
    stored = {e.pk: e for e in LedgerEntry.objects.filter(pk__in=[e.pk for e in entries])}
    for written in entries:
        read = stored[written.pk]
        assert (read.account_id, read.amount, read.idempotency_key, read.reason, read.reference) == (
            written.account_id,
            written.amount,
            written.idempotency_key,
            written.reason,
            written.reference,
        )
    assert stored[entries[0].pk].created_at == when
    assert stored[entries[2].pk].amount == Decimal(100)
    assert stored[entries[0].pk].reason.endswith("{braces}, NULL")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps text of any length")
def test_text_too_long_for_its_column_is_refused_not_cut_short(accounts):
    with pytest.raises(DataError), transaction.atomic():
        rows_insert([entry(accounts[0], Decimal(1), reference="x" * 121)])
    assert not LedgerEntry.objects.exists()


def test_insert_new_skips_the_values_already_there(accounts):
    rows = [{"key": f"bulk:{n}", "kind": K.LOW_BALANCE, "user_id": accounts[0].user_id} for n in range(3)]
    first = rows_insert_new(Notification, rows[:2], unique="key")

    again = rows_insert_new(Notification, rows, unique="key")

    assert len(first) == 2
    assert again == [Notification.objects.get(key="bulk:2").pk]


def test_update_changes_the_rows_still_as_expected(accounts):
    rows = [
        (account.pk, {"balance": Decimal("7.0001")}, {"currency": account.currency}) for account in accounts
    ]
    rows[1] = (accounts[1].pk, {"balance": Decimal(9)}, {"currency": "XXX"})  # moved since it was read

    assert rows_update(Account, rows) == 2
    assert sorted(Account.objects.values_list("balance", flat=True)) == [
        Decimal(0),
        Decimal("7.0001"),
        Decimal("7.0001"),
    ]
