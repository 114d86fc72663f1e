"""The display currency: a customer sees amounts in a currency of their choice (one with a stored rate),
converted for display only, with the currency on every amount; the ledger, the charges and the API stay in
the panel currency."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Profile
from api.services import api_key_issue
from billing.models import LedgerEntry
from billing.services import account_for
from catalogue.models import CurrencyRate, Service
from orders.models import Order
from storefront.money import PANEL, DisplayCurrency, amount_converted, money_text
from tests.builders import order_in

pytestmark = pytest.mark.django_db


def settings_form(**changes) -> dict:
    return {"email": "dave@example.com", "timezone": "UTC", "language": "en", **changes}


@pytest.fixture
def signed_in(customer):
    customer.email = "dave@example.com"
    customer.save()
    client = Client()
    client.force_login(customer)
    return client


def test_the_header_balance_says_its_currency(signed_in):
    page = signed_in.get("/orders/").content.decode()
    assert '<span class="balance" id="header-balance"><span class="money">100.0000 USD</span></span>' in page


def test_amounts_shown_converted_in_the_currency_chosen_and_the_books_unchanged(signed_in, customer, shop):
    CurrencyRate.objects.create(currency="EUR", rate=Decimal("1.1"))  # 1 EUR = 1.10 USD
    assert 'value="EUR"' in signed_in.get("/accounts/settings/").content.decode()
    assert signed_in.post("/accounts/settings/", settings_form(display_currency="EUR")).status_code == 302
    assert Profile.objects.get(user=customer).display_currency == "EUR"
    ledger_before = list(LedgerEntry.objects.order_by("pk").values_list("amount", "balance_after"))

    page = signed_in.get("/orders/").content.decode()
    # 100 USD / 1.1 = 90.9090… → 90.91 (half up, to cents); the exact figure on hover.
    assert 'id="header-balance"><span class="money converted" title="100.0000 USD">≈ 90.91 EUR</span>' in page

    shop("smmcloud")
    service = Service.objects.filter(status=Service.Status.ACTIVE).first()
    order = order_in(Order.Status.IN_PROGRESS, user=customer, service=service, charge=Decimal("13.0000"))
    detail = signed_in.get(f"/orders/{order.pk}/").content.decode()
    # What was charged, in the panel currency, beside the converted figure.
    assert (
        '<dd id="charge"><span class="money converted">≈ 11.82 EUR <span class="muted">(13.0000 USD)</span>'
        in detail
    )
    funds = signed_in.get("/funds/").content.decode()
    assert "≈ 90.91 EUR" in funds

    # Display only: the books are as they were (but for the order's own charge), in the panel currency.
    assert (
        list(LedgerEntry.objects.order_by("pk").values_list("amount", "balance_after"))[: len(ledger_before)]
        == ledger_before
    )
    assert account_for(customer).currency == "USD"

    # The panel currency again: stored as none chosen.
    signed_in.post("/accounts/settings/", settings_form(display_currency="USD"))
    assert Profile.objects.get(user=customer).display_currency == ""
    assert "≈" not in signed_in.get("/orders/").content.decode()


def test_a_currency_without_a_rate_is_not_offered(signed_in, customer):
    CurrencyRate.objects.create(currency="EUR", rate=Decimal("1.1"))
    page = signed_in.get("/accounts/settings/").content.decode()
    assert 'value="USD"' in page and 'value="EUR"' in page and 'value="GBP"' not in page
    refused = signed_in.post("/accounts/settings/", settings_form(display_currency="GBP"))
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert Profile.objects.get(user=customer).display_currency == ""

    # A rate removed after it was chosen: amounts are shown in the panel currency again.
    signed_in.post("/accounts/settings/", settings_form(display_currency="EUR"))
    CurrencyRate.objects.filter(currency="EUR").delete()
    assert "100.0000 USD" in signed_in.get("/orders/").content.decode()


def test_the_api_stays_in_the_panel_currency(customer):
    CurrencyRate.objects.create(currency="EUR", rate=Decimal("1.1"))
    Profile.objects.update_or_create(user=customer, defaults={"display_currency": "EUR"})
    _key, raw = api_key_issue(user=customer)
    answer = Client().post("/api/v2", {"key": raw, "action": "balance"}).json()
    assert Decimal(answer["balance"]) == Decimal(100) and answer["currency"] == "USD"


def test_conversion_is_decimal_and_rounds_half_up():
    euro = DisplayCurrency("EUR", Decimal("2"))
    assert amount_converted(Decimal("0.25"), euro) == Decimal("0.13")  # 0.125: half up, not to even
    assert amount_converted(Decimal("0.0250"), euro, places=4) == Decimal("0.0125")
    assert money_text(Decimal("-5.0000"), euro) == "≈ -2.50 EUR"
    assert money_text(Decimal("5.0000"), PANEL) == "5.0000 USD"
