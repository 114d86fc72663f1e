from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.models import LedgerEntry
from billing.services import account_for, balance_deposit


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def customer(db):
    user = User.objects.create_user("carol")
    balance_deposit(account=account_for(user), amount=Decimal("20"))
    return user


def test_adjustbalance_command_writes_an_adjustment(operator, customer):
    out = StringIO()
    call_command("adjustbalance", "carol", "-2.5", "--reason", "refund of a fee", stdout=out)

    assert out.getvalue().strip() == "carol: -2.5000 → balance 17.5000 (refund of a fee)"
    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.reason, entry.created_by) == ("refund of a fee", operator)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "1", "--reason", "x"], "No user called 'nobody'"),
        (["carol", "abc", "--reason", "x"], "is not an amount"),
        (["carol", "-100", "--reason", "x"], "Not enough funds"),
        (["carol", "5", "--reason", " "], "needs a reason"),
        # Decimal() reads these (or fails with a traceback): an amount is written with 0-9 and a point.
        *[
            (["carol", amount, "--reason", "x"], "is not an amount: write it with the digits 0-9")
            for amount in ["NaN", "sNaN", "Infinity", "1e999", "1e5", "\u0661\u0660", "\uff11", "1_0"]
        ],
        (["carol", "9" * 30, "--reason", "x"], "no more than 16 digits"),
        (["carol", "0.00001", "--reason", "x"], "no more than 4 decimal places"),
        (["carol", "999999999999", "--reason", "x"], "it must stay below 1,000,000,000,000"),
    ],
)
def test_adjustbalance_command_errors(operator, customer, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("adjustbalance", *args)
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()


def test_admin_adjustment_with_a_reason(client, operator, customer):
    client.force_login(operator)
    account = customer.account
    url = reverse("admin:billing_account_adjust", args=[account.pk])

    assert (
        "Adjust balance"
        in client.get(reverse("admin:billing_account_change", args=[account.pk])).content.decode()
    )
    refused = client.post(url, {"amount": "-50", "reason": "too much"})
    assert "Not enough funds" in refused.content.decode()
    missing = client.post(url, {"amount": "5", "reason": ""})
    assert "This field is required" in missing.content.decode()

    response = client.post(url, {"amount": "5", "reason": "compensation for a late order"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.balance == Decimal("25")
    entry = account.ledger.get(kind="adjustment")
    assert (entry.created_by, entry.reason) == (operator, "compensation for a late order")


def test_ledger_is_read_only_in_the_admin(client, operator, customer):
    client.force_login(operator)
    entry = LedgerEntry.objects.get()
    assert client.get(reverse("admin:billing_ledgerentry_changelist")).status_code == 200
    page = client.get(reverse("admin:billing_ledgerentry_change", args=[entry.pk])).content.decode()
    assert 'name="_save"' not in page
    assert client.post(reverse("admin:billing_ledgerentry_delete", args=[entry.pk])).status_code == 403
    assert client.get(reverse("admin:billing_account_add")).status_code == 403


def test_adjusting_is_staff_only(client, customer):
    client.force_login(customer)
    response = client.post(
        reverse("admin:billing_account_adjust", args=[customer.account.pk]), {"amount": "100"}
    )
    assert response.status_code == 302
    customer.account.refresh_from_db()
    assert customer.account.balance == Decimal("20")


def test_an_adjustment_past_what_the_balance_column_holds_is_refused_on_the_form(client, operator, customer):
    """On PostgreSQL a balance of 10^12 or more is a numeric overflow: a server error after the lock."""
    client.force_login(operator)
    url = reverse("admin:billing_account_adjust", args=[customer.account.pk])
    refused = client.post(url, {"amount": "999999999999.9999", "reason": "a typo"})
    assert refused.status_code == 200 and "it must stay below 1,000,000,000,000" in refused.content.decode()
    customer.account.refresh_from_db()
    assert customer.account.balance == Decimal("20") and not LedgerEntry.objects.filter(kind="adjustment")
