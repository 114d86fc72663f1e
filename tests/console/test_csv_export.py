"""Orders, the ledger and customers export as CSV, filtered as the list is; what a role may not see on the page
(Support: providers, costs, balances) is not in its file; no secret is ever; formulas are written as text."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from billing.models import LedgerEntry
from billing.services import account_for, balance_change
from orders.models import Order
from reseller.csv_export import safe_cell
from tests.staff import member

pytestmark = pytest.mark.django_db

S = Order.Status


def rows(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def orders(on_sale, customer):
    service = on_sale()

    def order(status, link, **fields):
        return Order.objects.create(
            user=customer,
            service=service,
            provider=service.provider_service.provider,
            provider_service=service.provider_service,
            type="Default",
            link=link,
            fields={},
            units=100,
            price=Decimal(2),
            charge=Decimal("0.2000"),
            status=status,
            **fields,
        )

    return [
        order(S.COMPLETED, "https://x.example/a", provider_order_id="PX-1", cost=Decimal("0.1")),
        order(S.COMPLETED, '=HYPERLINK("https://evil.example","click")', provider_order_id="PX-2"),
        order(S.QUEUED, "@SUM(A1:A9)"),
    ]


def test_orders_export_is_the_filtered_list_with_formulas_defused(client, orders):
    client.force_login(member("Owner"))

    exported = rows(client.get("/admin/orders/order/export.csv?status__exact=completed"))

    assert [int(row["id"]) for row in exported] == sorted((o.pk for o in orders[:2]), reverse=True)
    links = {row["link"] for row in exported}
    assert links == {"https://x.example/a", '\'=HYPERLINK("https://evil.example","click")'}
    assert {row["provider_order_id"] for row in exported} == {"PX-1", "PX-2"}
    assert exported[-1]["charge"] == "0.2000"
    searched = rows(client.get("/admin/orders/order/export.csv?q=SUM"))
    assert [row["link"] for row in searched] == ["'@SUM(A1:A9)"]
    listed = client.get("/admin/orders/order/?status__exact=completed").content.decode()
    assert 'href="export.csv?status__exact=completed"' in listed


def test_support_exports_orders_without_the_provider_side(client, orders):
    client.force_login(member("Support"))
    exported = rows(client.get("/admin/orders/order/export.csv"))
    assert len(exported) == 3
    assert not {"provider", "provider_service", "provider_order_id", "cost", "provider_status"} & set(
        exported[0]
    )
    text = str(exported)
    assert "PX-1" not in text and "Offline provider" not in text
    # Nor by filtering on what is hidden from it.
    assert client.get("/admin/orders/order/export.csv?provider__name__startswith=O").status_code == 400


def test_ledger_export_is_the_owners_and_filtered(client, customer):
    account = account_for(customer)
    balance_change(account=account, amount=Decimal("5.5"), kind=LedgerEntry.Kind.DEPOSIT, reason="-1+1 bonus")
    balance_change(
        account=account, amount=Decimal("-0.25"), kind=LedgerEntry.Kind.CHARGE, reference="order 9"
    )
    client.force_login(member("Owner"))
    exported = rows(client.get("/admin/billing/ledgerentry/export.csv?kind__exact=deposit"))
    assert {row["kind"] for row in exported} == {LedgerEntry.Kind.DEPOSIT}
    assert [row["amount"] for row in exported] == ["5.5000", "100.0000"]
    assert exported[0]["reason"] == "'-1+1 bonus" and "idempotency_key" not in exported[0]
    everything = rows(client.get("/admin/billing/ledgerentry/export.csv"))
    assert everything[0]["amount"] == "-0.2500" and everything[0]["reference"] == "order 9"
    client.force_login(member("Support"))
    assert client.get("/admin/billing/ledgerentry/export.csv").status_code == 403


def test_customers_export_has_no_secrets_and_balances_only_for_the_owner(client, customer):
    User.objects.create_user("mallory", email="+cmd@evil.example", password="secret-pw-123")
    client.force_login(member("Owner"))
    exported = rows(client.get("/admin/auth/user/export.csv?is_staff__exact=0"))
    assert [row["username"] for row in exported] == ["mallory", "dave"] or {
        r["username"] for r in exported
    } == {
        "mallory",
        "dave",
    }
    by_name = {row["username"]: row for row in exported}
    assert by_name["dave"]["balance"] == "100.0000" and by_name["mallory"]["email"] == "'+cmd@evil.example"
    assert "password" not in exported[0] and "pbkdf2" not in str(exported)

    client.force_login(member("Support"))
    exported = rows(client.get("/admin/auth/user/export.csv?is_staff__exact=0"))
    assert {row["username"] for row in exported} == {"mallory", "dave"} and "balance" not in exported[0]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
        (None, ""),
        ("-1.5", "'-1.5"),
        (Decimal("-1.5"), "-1.5"),  # a number is no formula
        (-3, "-3"),
    ],
)
def test_cells_that_start_like_a_formula_are_text(value, written):
    assert safe_cell(value) == written
