"""Every change of a customer balance goes through :func:`balance_change` (or :func:`balance_charge_new`, its
shorter debit for a key no earlier entry can hold).

It locks the account row first (``SELECT … FOR UPDATE``), checks funds under the lock, updates the
cached balance and writes the ledger entry in the same transaction. An idempotency key makes a charge
or refund happen once: a second attempt with the same key returns the first entry and changes
nothing. Attempts on one account are serialised by its row lock; the unique constraint on the key
is the backstop against a key reused anywhere else.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.dispatch import Signal

from audit.services import audit_record
from billing.models import Account, LedgerEntry
from billing.money import MONEY_LIMIT, to_money
from reseller.bulk import rows_insert, rows_update

# Sent by ``balance_change`` and ``balance_changes`` inside their transaction, the accounts locked, once for
# all the changes made: ``entries``, the new ledger entries in the order they were made (each with its
# ``account`` and ``balance_after``). Receivers handle the list at once, in a fixed number of statements, and
# defer telling anyone outside (the low-balance mail) with on_commit.
balance_changed = Signal()


class InsufficientFunds(Exception):
    def __init__(self, *, balance: Decimal, needed: Decimal):
        super().__init__(f"Not enough funds: the balance is {balance}, {needed} is needed.")
        self.balance = balance
        self.needed = needed


class BalanceLimit(ValueError):
    """The amount, or the balance it would make, is beyond what the ledger's columns hold."""


def account_for(user: AbstractBaseUser) -> Account:
    account, _ = Account.objects.get_or_create(user=user)
    return account


def balance_change(
    *,
    account: Account,
    amount: Decimal,
    kind: str,
    idempotency_key: str | None = None,
    reference: str = "",
    reason: str = "",
    actor: AbstractBaseUser | None = None,
    allow_overdraw: bool = False,
) -> LedgerEntry:
    """Credit (amount > 0) or debit (amount < 0) ``account``; returns the ledger entry.

    Raises :class:`InsufficientFunds` when a debit would take the balance below zero; then nothing
    is written — unless ``allow_overdraw`` (a deposit the processor took back: the money is gone already).
    Call it inside the caller's transaction to make the change part of a larger one.
    """
    amount = _amount_checked(amount)
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if idempotency_key:
            earlier = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
            if earlier is not None:
                return earlier
        entry = _change_locked(
            locked,
            amount,
            kind=kind,
            idempotency_key=idempotency_key,
            reference=reference,
            reason=reason,
            actor=actor,
            allow_overdraw=allow_overdraw,
        )
    account.balance = entry.balance_after
    return entry


def balance_charge_new(
    *, user: AbstractBaseUser, amount: Decimal, kind: str, idempotency_key: str, reference: str, actor=None
) -> LedgerEntry:
    """``balance_change``'s debit of ``user``'s account for a caller whose transaction rolls back whole on any
    exception from here and whose ``idempotency_key`` is made of a row that transaction inserted
    (``order_place``: the new order's id), so no earlier entry can hold it. Three statements shorter — no
    savepoint, no look-up of the key (its unique constraint refuses a second use) — and the account is locked
    by its user, not read before. Funds are checked under the lock; a customer without an account has none."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("balance_charge_new runs inside its caller's transaction")
    amount = _amount_checked(-amount)
    try:
        locked = Account.objects.select_for_update().get(user=user)
    except Account.DoesNotExist:
        raise InsufficientFunds(balance=Decimal(0), needed=-amount) from None
    return _change_locked(
        locked, amount, kind=kind, idempotency_key=idempotency_key, reference=reference, actor=actor
    )


def _change_locked(
    locked: Account,
    amount: Decimal,
    *,
    kind: str,
    idempotency_key: str | None,
    reference: str,
    actor,
    reason: str = "",
    allow_overdraw: bool = False,
) -> LedgerEntry:
    """The change of an account locked by the caller: the balance checked and saved, the ledger entry."""
    new_balance = _balance_after(locked.balance, amount, allow_overdraw=allow_overdraw)
    locked.balance = new_balance
    locked.save(update_fields=["balance"])
    entry = LedgerEntry.objects.create(
        account=locked,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        idempotency_key=idempotency_key or None,
        reference=reference,
        reason=reason,
        created_by=actor,
    )
    balance_changed.send(sender=Account, entries=[entry])
    return entry


def _amount_checked(amount: Decimal) -> Decimal:
    if Decimal(amount).copy_abs() >= MONEY_LIMIT:  # checked first: rounding it could overflow
        raise BalanceLimit(f"An amount must be below {MONEY_LIMIT:,}.")
    amount = to_money(amount)
    if amount == 0:
        raise ValueError("A balance change of zero is not a change")
    return amount


def _balance_after(balance: Decimal, amount: Decimal, *, allow_overdraw: bool) -> Decimal:
    """The balance after ``amount``, checked under the account's lock."""
    new_balance = balance + amount
    if amount < 0 and new_balance < 0 and not allow_overdraw:
        raise InsufficientFunds(balance=balance, needed=-amount)
    if new_balance >= MONEY_LIMIT:  # PostgreSQL would refuse it (numeric overflow) after the lock
        raise BalanceLimit(f"The balance would be {new_balance:,}; it must stay below {MONEY_LIMIT:,}.")
    return new_balance


@dataclass(frozen=True)
class BalanceChange:
    """One change for ``balance_changes``: what ``balance_change`` takes, the account named by its user."""

    user_id: int
    amount: Decimal
    kind: str
    idempotency_key: str | None = None
    reference: str = ""
    reason: str = ""
    actor: AbstractBaseUser | None = None
    allow_overdraw: bool = False


def balance_changes(changes: list[BalanceChange]) -> list[LedgerEntry]:
    """Make many changes, each as ``balance_change`` makes it (funds checked under the lock, a ledger entry
    with the balance after it, once per idempotency key, ``balance_changed`` for the new entries), in one
    transaction of a fixed number of statements: the accounts locked in primary-key order (so two such calls
    never wait on each other in a circle), the keys looked up, the entries inserted (one statement,
    ``reseller.bulk.rows_insert``), the balances updated.
    Returns the entries in the order of ``changes`` (an earlier one for a key already used). Any refusal
    refuses all.
    """
    amounts = [_amount_checked(change.amount) for change in changes]
    with transaction.atomic():
        accounts = _accounts_locked({change.user_id for change in changes})
        keys = [change.idempotency_key for change in changes if change.idempotency_key]
        by_key = {
            entry.idempotency_key: entry for entry in LedgerEntry.objects.filter(idempotency_key__in=keys)
        }
        entries, new = [], []
        for change, amount in zip(changes, amounts, strict=True):
            if change.idempotency_key in by_key:
                entries.append(by_key[change.idempotency_key])
                continue
            account = accounts[change.user_id]
            account.balance = _balance_after(account.balance, amount, allow_overdraw=change.allow_overdraw)
            entry = LedgerEntry(
                account=account,
                kind=change.kind,
                amount=amount,
                balance_after=account.balance,
                idempotency_key=change.idempotency_key or None,
                reference=change.reference,
                reason=change.reason,
                created_by=change.actor,
            )
            entries.append(entry)
            new.append(entry)
            if change.idempotency_key:
                by_key[change.idempotency_key] = entry
        rows_insert(new)
        changed = {entry.account_id: entry.account for entry in new}.values()
        rows_update(Account, [(account.pk, {"balance": account.balance}, {}) for account in changed])
        if new:
            balance_changed.send(sender=Account, entries=new)
    return entries


def _accounts_locked(user_ids: set[int]) -> dict[int, Account]:
    """The accounts of ``user_ids`` (made for those who have none), locked in primary-key order."""
    locked = Account.objects.select_for_update().filter(user_id__in=user_ids).order_by("pk")
    accounts = {account.user_id: account for account in locked}
    if missing := user_ids - set(accounts):
        Account.objects.bulk_create([Account(user_id=user_id) for user_id in missing], ignore_conflicts=True)
        accounts = {account.user_id: account for account in locked.all()}
    return accounts


def balance_deposit(
    *, account: Account, amount: Decimal, reference: str = "", actor=None, key=None
) -> LedgerEntry:
    if to_money(amount) <= 0:
        raise ValueError("A deposit must be positive")
    return balance_change(
        account=account,
        amount=amount,
        kind=LedgerEntry.Kind.DEPOSIT,
        idempotency_key=key,
        reference=reference,
        actor=actor,
    )


def balance_adjust(*, account: Account, amount: Decimal, reason: str, actor: AbstractBaseUser) -> LedgerEntry:
    """An operator's correction: always with a reason and the operator's name on it."""
    if not reason.strip():
        raise ValueError("An adjustment needs a reason")
    with transaction.atomic():
        entry = balance_change(
            account=account,
            amount=amount,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            reason=reason.strip(),
            actor=actor,
        )
        before = entry.balance_after - entry.amount
        changes = {"balance": [str(before), str(entry.balance_after)]}
        audit_record(actor=actor, verb="adjust", target=account, changes=changes, reason=entry.reason)
    return entry


@dataclass(frozen=True)
class LedgerAudit:
    balance: Decimal
    ledger_sum: Decimal
    broken_entries: list[int]

    @property
    def ok(self) -> bool:
        return self.balance == self.ledger_sum and not self.broken_entries


def ledger_audit(*, account: Account) -> LedgerAudit:
    """Recompute the balance from the ledger and check every entry's running balance."""
    running = Decimal(0)
    broken = []
    for entry_id, amount, balance_after in (
        LedgerEntry.objects.filter(account=account)
        .order_by("created_at", "pk")
        .values_list("pk", "amount", "balance_after")
    ):
        running += amount
        if running != balance_after:
            broken.append(entry_id)
    total = LedgerEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    account.refresh_from_db(fields=["balance"])
    return LedgerAudit(balance=account.balance, ledger_sum=to_money(total), broken_entries=broken)
