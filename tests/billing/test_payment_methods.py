"""Payment methods (issue 14): the operator's ways to pay, each with limits, a fee (paid by the customer or
absorbed), a bonus and instructions; the funds page shows them and previews what a top-up costs and brings;
the deposit, the fee and the bonus are ledger entries of their own."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.fees import topup_quote
from billing.models import LedgerEntry, PaymentMethod, TopUp
from billing.services import account_for, ledger_audit
from billing.topups import offered_methods, topup_approve, topup_request
from catalogue.models import CurrencyRate
from tests.billing.support import deliver
from tests.fakes.stripe import FakeStripe
from tests.storefront.support import notify, rendered

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def bank():
    return PaymentMethod.objects.create(
        code="bank-eur",
        name="Bank transfer (EUR)",
        processor="manual",
        min_amount=D(20),
        max_amount=D(500),
        fee_percent=D("2.5"),
        fee_fixed=D("0.30"),
        bonus_percent=D(5),
        bonus_from=D(100),
        instructions="**IBAN** DE00 1234 5678\n\n<script>alert('x')</script>[help](javascript:alert(1))",
    )


def test_the_fee_is_rounded_up_and_the_bonus_down_from_its_threshold(bank):
    quote = topup_quote(method=bank, amount=D("99.99"))
    assert (quote.fee, quote.bonus, quote.pay_amount, quote.credited) == (
        D("2.80"),
        0,
        D("102.79"),
        D("99.99"),
    )
    quote = topup_quote(method=bank, amount=D(101))
    assert (quote.fee, quote.bonus) == (D("2.83"), D("5.05"))  # 2.525 + 0.30 up; 5.05 exactly
    bank.fee_payer = PaymentMethod.FeePayer.PANEL
    assert topup_quote(method=bank, amount=D(101)).pay_amount == D(101)  # absorbed: not the customer's


def test_fee_and_bonus_are_ledger_entries_of_their_own_credited_once(customer, admin_user, bank):
    topup = topup_request(user=customer, amount=D(200), method="bank-eur", reference="SEPA-1")
    assert (topup.fee, topup.bonus, topup.pay_amount) == (D("5.30"), D(10), D("205.30"))

    assert topup_approve(topup=topup, actor=admin_user) and not topup_approve(topup=topup, actor=admin_user)

    entries = LedgerEntry.objects.filter(reference=f"top-up {topup.pk}").order_by("pk")
    assert [(entry.kind, entry.amount) for entry in entries] == [
        (LedgerEntry.Kind.DEPOSIT, D("205.30")),
        (LedgerEntry.Kind.FEE, D("-5.30")),
        (LedgerEntry.Kind.BONUS, D(10)),
    ]
    assert account_for(customer).balance == D(310)  # 100 before, 200 and the bonus
    assert ledger_audit(account=account_for(customer)).ok


def test_each_methods_limits_and_only_offered_methods(customer, bank, settings):
    with pytest.raises(
        ValidationError, match=re.escape("With Bank transfer (EUR), add between 20.00 and 500.00")
    ):
        topup_request(user=customer, amount=D(10), method="bank-eur", reference="SEPA-2")
    with pytest.raises(ValidationError, match=re.escape("add between 20.00 and 500.00")):
        topup_request(user=customer, amount=D(501), method="bank-eur", reference="SEPA-2")

    bank.enabled = False
    bank.save()
    settings.PAYMENT_GATEWAYS = []  # the sandbox method exists, its processor is not enabled
    assert list(offered_methods()) == ["manual"]
    for code in ("bank-eur", "sandbox", "nowhere"):
        with pytest.raises(ValidationError, match="Choose a payment method"):
            topup_request(user=customer, amount=D(50), method=code, reference="SEPA-3")
    assert not TopUp.objects.exists()


def test_the_funds_page_lists_methods_shows_safe_instructions_and_previews(client, customer, bank):
    client.force_login(customer)
    page = client.get("/funds/").content.decode()
    row = page.split('<tr id="method-bank-eur">')[1].split("</tr>")[0]
    assert "Bank transfer (EUR)" in row and "2.50% + 0.30" in row and "+5% from 100" in row
    instructions = page.split('id="instructions-bank-eur"')[1].split("</div>")[0]
    assert "<strong>IBAN</strong> DE00 1234 5678" in instructions
    assert "<script" not in instructions and "javascript:" not in instructions
    assert "<code>dave</code>" in instructions  # the reference to give with the transfer

    preview = client.post("/funds/quote/", {"method": "bank-eur", "amount": "200"}).content.decode()
    assert 'id="funds-pay">205.3000</strong>' in preview and "fee of 5.3000" in preview
    assert 'id="funds-credited">210.0000</strong>' in preview and "bonus of 10.0000" in preview
    for garbage in (
        {"method": "bank-eur", "amount": "NaN"},
        {"method": "x", "amount": "5"},
        {"amount": "-1"},
    ):
        assert client.post("/funds/quote/", garbage).content == b""

    client.post("/funds/", rendered({"amount": "200", "method": "bank-eur", "reference": "SEPA-9"}))
    topup = TopUp.objects.get()
    assert (topup.payment_method, topup.pay_amount, topup.reference) == (bank, D("205.30"), "SEPA-9")


def test_the_sandbox_asks_for_and_signs_the_amount_with_its_fee(client, customer):
    PaymentMethod.objects.filter(code="sandbox").update(fee_fixed=D(1))
    client.force_login(customer)
    client.post("/funds/", rendered({"amount": "30", "method": "sandbox"}))
    topup = TopUp.objects.get()
    assert "Pay 31.0000 USD" in client.get(f"/funds/sandbox/{topup.pk}/").content.decode()
    page = client.post(f"/funds/sandbox/{topup.pk}/", {"pay": ""}).content.decode()  # the form to post back
    signed = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert signed["amount"] == "31.0000"
    assert notify(client, "sandbox", signed)["Location"] == "/funds/"  # as the browser posts it back
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.CREDITED and account_for(customer).balance == D(130)


def test_a_method_in_another_currency_asks_in_it_and_credits_the_panels_money(client, customer, settings):
    euro = PaymentMethod.objects.create(
        code="card-eur", name="Card (EUR)", processor="stripe", currency="EUR"
    )
    client.force_login(customer)
    with FakeStripe() as stripe:
        settings.PAYMENT_GATEWAYS = ["stripe"]
        settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = stripe.secret_key, stripe.webhook_secret
        settings.STRIPE_API_BASE = stripe.url
        assert "card-eur" not in offered_methods()  # no rate for EUR yet: not offered
        CurrencyRate.objects.create(currency="EUR", rate=D("1.10"))  # 1 EUR buys 1.10 USD
        assert offered_methods()["card-eur"] == euro

        preview = client.post("/funds/quote/", {"method": "card-eur", "amount": "110"}).content.decode()
        assert 'id="funds-pay">100.0000</strong> EUR' in preview and 'id="funds-credited">110.0000' in preview
        client.post("/funds/", rendered({"amount": "110", "method": "card-eur"}))
        topup = TopUp.objects.get()
        session = stripe.session(topup.gateway_reference)
        assert (session["amount_total"], session["currency"]) == (10000, "eur")

        CurrencyRate.objects.filter(currency="EUR").update(
            rate=D("1.20")
        )  # the rate moves before the webhook
        assert deliver(client, "stripe", stripe.complete(topup.gateway_reference)).status_code == 200
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.CREDITED and account_for(customer).balance == D(210)  # as quoted
