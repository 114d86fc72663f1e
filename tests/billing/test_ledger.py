"""Balances and the ledger: exact, append-only, never overdrawn, each keyed change applied once."""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import LedgerEntry
from billing.services import (
    InsufficientFunds,
    account_for,
    balance_adjust,
    balance_change,
    balance_charge_new,
    balance_deposit,
    ledger_audit,
)
from tests.profiles import examples

D = Decimal


@pytest.fixture
def account(db):
    return account_for(User.objects.create_user("alice"))


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("boss", "boss@example.com", "pw")


def charge(account, amount, key=None):
    return balance_change(
        account=account, amount=-D(amount), kind=LedgerEntry.Kind.CHARGE, idempotency_key=key
    )


def test_every_change_is_a_ledger_row_with_the_running_balance(account, operator):
    balance_deposit(account=account, amount=D("10.00"), reference="top-up 1")
    charge(account, "2.3456", key="charge:order:1")
    balance_change(
        account=account, amount=D("0.5"), kind=LedgerEntry.Kind.REFUND, idempotency_key="refund:order:1"
    )
    balance_adjust(account=account, amount=D("-1"), reason="goodwill reversed", actor=operator)

    account.refresh_from_db()
    assert account.balance == D("7.1544")
    rows = list(account.ledger.order_by("pk").values_list("kind", "amount", "balance_after"))
    assert rows == [
        ("deposit", D("10.0000"), D("10.0000")),
        ("charge", D("-2.3456"), D("7.6544")),
        ("refund", D("0.5000"), D("8.1544")),
        ("adjustment", D("-1.0000"), D("7.1544")),
    ]
    assert ledger_audit(account=account).ok


def test_money_is_rounded_once_half_up(account):
    balance_deposit(account=account, amount=D("1.00005"))
    account.refresh_from_db()
    assert account.balance == D("1.0001")
    with pytest.raises(TypeError):
        balance_deposit(account=account, amount=0.1)


def test_an_overdraft_is_refused_and_writes_nothing(account):
    balance_deposit(account=account, amount=D("5"))

    with pytest.raises(InsufficientFunds, match=r"the balance is 5\.0000, 5\.0001 is needed"):
        charge(account, "5.0001", key="charge:order:9")

    account.refresh_from_db()
    assert account.balance == D("5")
    assert account.ledger.count() == 1
    assert not LedgerEntry.objects.filter(idempotency_key="charge:order:9").exists()


def test_a_keyed_change_happens_once(account):
    balance_deposit(account=account, amount=D("10"))
    first = charge(account, "3", key="charge:order:7")
    again = charge(account, "3", key="charge:order:7")

    assert again.pk == first.pk
    account.refresh_from_db()
    assert account.balance == D("7")


def charge_new(user, amount, key):
    return balance_charge_new(
        user=user, amount=D(amount), kind=LedgerEntry.Kind.CHARGE, idempotency_key=key, reference="order"
    )


def test_a_charge_under_a_new_key_is_checked_under_the_lock_and_never_paid_twice(account):
    balance_deposit(account=account, amount=D("10"))
    with transaction.atomic():
        entry = charge_new(account.user, "3", "charge:order:7")
    assert (entry.amount, entry.balance_after) == (D("-3"), D("7"))
    # The key is not looked up: a second use is refused by its unique constraint, and rolled back whole.
    with pytest.raises(IntegrityError), transaction.atomic():
        charge_new(account.user, "3", "charge:order:7")
    with pytest.raises(InsufficientFunds), transaction.atomic():
        charge_new(account.user, "7.0001", "charge:order:8")
    account.refresh_from_db()
    assert account.balance == D("7")
    assert list(account.ledger.values_list("idempotency_key", flat=True).order_by("pk")) == [
        None,
        "charge:order:7",
    ]


def test_a_charge_under_a_new_key_runs_in_its_callers_transaction_and_needs_an_account(transactional_db):
    user = User.objects.create_user("bob")
    with pytest.raises(RuntimeError):
        charge_new(user, "1", "charge:order:1")
    with pytest.raises(InsufficientFunds), transaction.atomic():
        charge_new(user, "1", "charge:order:1")
    assert not LedgerEntry.objects.exists()


def test_the_database_refuses_a_debit_that_overdraws_but_a_deposit_taken_back(account):
    balance_deposit(account=account, amount=D("5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=account, kind=LedgerEntry.Kind.CHARGE, amount=D("-6"), balance_after=D("-1")
        )
    LedgerEntry.objects.create(  # a processor's refund after the money was spent: the balance is -1
        account=account, kind=LedgerEntry.Kind.REVERSAL, amount=D("-6"), balance_after=D("-1")
    )


def test_ledger_rows_can_never_be_changed_or_deleted(account):
    entry = balance_deposit(account=account, amount=D("10"))

    entry.amount = D("1000")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("1000"))
    with pytest.raises(PermissionError):
        LedgerEntry.objects.all().delete()
    # Even raw SQL is refused by the database itself.
    with pytest.raises(Exception, match="never changed"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_ledgerentry SET amount = 1000 WHERE id = %s", [entry.pk])
    if connection.vendor == "postgresql":
        with (
            pytest.raises(Exception, match="never changed or deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM billing_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == D("10")


def test_adjustments_need_a_reason(account, operator):
    with pytest.raises(ValueError, match="reason"):
        balance_adjust(account=account, amount=D("5"), reason="  ", actor=operator)
    assert not account.ledger.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_never_overdraw():
    account = account_for(User.objects.create_user("racer"))
    balance_deposit(account=account, amount=D("10"))
    accepted, refused = [], []
    start = threading.Barrier(20)

    def place(n):
        start.wait()
        try:
            charge(account, "0.75", key=f"charge:order:{n}")
            accepted.append(n)
        except InsufficientFunds:
            refused.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=place, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    account.refresh_from_db()
    assert len(accepted) == 13  # 13 * 0.75 = 9.75 <= 10 < 14 * 0.75
    assert len(refused) == 7
    assert account.balance == D("0.25")
    assert ledger_audit(account=account).ok


operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.decimals(min_value=D("0.0001"), max_value=D(500), places=4)),
        st.tuples(
            st.just("charge"),
            st.decimals(min_value=D("0.0001"), max_value=D(200), places=4),
            st.integers(0, 8),
        ),
        st.tuples(
            st.just("refund"), st.integers(0, 8), st.decimals(min_value=D(0), max_value=D(1), places=2)
        ),
    ),
    max_size=25,
)


@pytest.mark.django_db
@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations)
def test_balance_always_equals_the_ledger_and_refunds_never_exceed_charges(ops):
    with transaction.atomic():
        account = account_for(User.objects.create_user(f"prop-{User.objects.count()}"))
        charged: dict[int, Decimal] = {}
        for op in ops:
            if op[0] == "deposit":
                balance_deposit(account=account, amount=op[1])
            elif op[0] == "charge":
                _, amount, order = op
                try:
                    entry = charge(account, amount, key=f"charge:{account.pk}:{order}")
                    charged.setdefault(order, -entry.amount)
                except InsufficientFunds:
                    pass
            elif op[1] in charged:
                _, order, share = op
                refund = (charged[op[1]] * share).quantize(D("0.0001"))
                if refund > 0:
                    balance_change(
                        account=account,
                        amount=refund,
                        kind=LedgerEntry.Kind.REFUND,
                        idempotency_key=f"refund:{account.pk}:{order}",
                    )
        audit = ledger_audit(account=account)
        assert audit.ok, audit
        assert audit.balance >= 0
        for order, amount in charged.items():
            refunded = sum(
                LedgerEntry.objects.filter(idempotency_key=f"refund:{account.pk}:{order}").values_list(
                    "amount", flat=True
                ),
                D(0),
            )
            assert refunded <= amount
        transaction.set_rollback(True)
