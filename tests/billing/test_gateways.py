"""Payment gateways are configuration: customers are offered only those in PAYMENT_GATEWAYS, the sandbox (which
credits balances with no money moving) never under production settings — refused by the system checks and
at every request — and its callbacks are signed with a secret of its own, never the SECRET_KEY."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from billing.checks import payment_gateways_check
from billing.gateways import GATEWAYS
from billing.models import LedgerEntry, TopUp
from billing.services import account_for
from tests.production import manage
from tests.storefront.support import notify, rendered

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "p" * 30 + "-a-long-random-production-secret-0123456789",
    "DJANGO_ALLOWED_HOSTS": "panel.example.com",
}
# What reseller.settings.production holds, whatever the environment says, with the sandbox configured anyway.
MISCONFIGURED_PRODUCTION = {
    "PAYMENT_SANDBOX_ALLOWED": False,
    "PAYMENT_GATEWAYS": ["sandbox"],
    "SANDBOX_GATEWAY_SECRET": "a-sandbox-secret-somebody-set-in-production",
}


def test_production_settings_refuse_to_start_with_the_sandbox():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        PAYMENT_GATEWAYS="sandbox",
        SANDBOX_GATEWAY_SECRET="a-sandbox-secret-somebody-set-in-production",
        **PRODUCTION_ENV,
    )
    assert result.returncode != 0
    assert "billing.E002" in result.stderr and "PAYMENT_GATEWAYS" in result.stderr


def test_production_settings_offer_no_gateway_and_no_secret_by_default():
    """Nothing enabled unless listed, the sandbox never allowed, and its secret not derived from SECRET_KEY."""
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.PAYMENT_GATEWAYS, s.PAYMENT_SANDBOX_ALLOWED, repr(s.SANDBOX_GATEWAY_SECRET))",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[] False ''"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"PAYMENT_GATEWAYS": ["sandbox"]}, []),
        ({"PAYMENT_GATEWAYS": []}, []),
        ({"PAYMENT_GATEWAYS": ["sandbox", "paypal"]}, ["billing.E001"]),
        ({"PAYMENT_GATEWAYS": ["sandbox"], "PAYMENT_SANDBOX_ALLOWED": False}, ["billing.E002"]),
        ({"PAYMENT_GATEWAYS": ["sandbox"], "SANDBOX_GATEWAY_SECRET": ""}, ["billing.E003"]),
        (
            {"PAYMENT_GATEWAYS": ["sandbox"], "SANDBOX_GATEWAY_SECRET": "shared", "SECRET_KEY": "shared"},
            ["billing.E004"],
        ),
        ({"PAYMENT_GATEWAYS": [], "SANDBOX_GATEWAY_SECRET": ""}, []),  # no sandbox, no secret needed
    ],
)
def test_payment_configuration_checks(overrides, expected):
    with override_settings(**overrides):
        assert [error.id for error in payment_gateways_check()] == expected


@override_settings(SANDBOX_GATEWAY_SECRET="")
def test_the_sandbox_never_signs_or_verifies_with_an_empty_secret():
    with pytest.raises(ImproperlyConfigured):
        GATEWAYS["sandbox"].sign(topup_id=1, paid=True, amount=Decimal(10), gateway_reference="x")
    with pytest.raises(ImproperlyConfigured):
        GATEWAYS["sandbox"].parse_notification(body=b"topup=1&status=paid&amount=10&signature=", headers={})


def _signed_payment(topup: TopUp) -> dict[str, str]:
    return GATEWAYS["sandbox"].sign(
        topup_id=topup.pk, paid=True, amount=topup.amount, gateway_reference=f"sbx_{topup.pk}"
    )


@pytest.mark.parametrize(
    "settings_",
    [
        pytest.param(MISCONFIGURED_PRODUCTION, id="production-with-sandbox-configured"),
        pytest.param({"PAYMENT_GATEWAYS": []}, id="not-configured"),
        pytest.param({"SANDBOX_GATEWAY_SECRET": ""}, id="configured-without-its-secret"),
    ],
)
def test_a_sandbox_that_is_not_enabled_is_neither_offered_nor_credited(client, customer, settings_):
    client.force_login(customer)
    # A sandbox payment started while it was enabled, or forged into the database: still never credited.
    earlier = TopUp.objects.create(user=customer, amount=Decimal(100000), method=TopUp.Method.SANDBOX)
    signed = _signed_payment(earlier)  # as the sandbox signed it while it was enabled
    with override_settings(**settings_):
        page = client.get("/funds/").content.decode()
        assert 'value="manual"' in page and 'value="sandbox"' not in page and "Card:" not in page

        refused = client.post("/funds/", rendered({"amount": "100000", "method": "sandbox"})).content.decode()
        assert "Select a valid choice" in refused
        assert TopUp.objects.count() == 1

        assert client.get(f"/funds/sandbox/{earlier.pk}/").status_code == 404
        assert client.post(f"/funds/sandbox/{earlier.pk}/", {"pay": ""}).status_code == 404
        assert notify(client, "sandbox", {**signed, "return": "1"}).status_code == 404
        assert notify(client, "sandbox", signed).status_code == 404

    earlier.refresh_from_db()
    assert earlier.status == TopUp.Status.PENDING
    assert account_for(customer).balance == 100
    assert not LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.DEPOSIT, reference=f"top-up {earlier.pk}"
    ).exists()


def test_topup_request_refuses_a_gateway_that_is_not_enabled(customer):
    from django.core.exceptions import ValidationError

    from billing.topups import topup_request

    with override_settings(**MISCONFIGURED_PRODUCTION), pytest.raises(ValidationError) as refused:
        topup_request(user=customer, amount=Decimal(50), method="sandbox")
    assert "method" in refused.value.message_dict and not TopUp.objects.exists()


def test_the_configured_sandbox_is_offered_and_credits(client, customer):
    """The other side of the tests above: the same steps where the sandbox is enabled (test settings)."""
    client.force_login(customer)
    assert 'value="sandbox"' in client.get("/funds/").content.decode()
    started = client.post("/funds/", rendered({"amount": "40", "method": "sandbox"}))
    topup = TopUp.objects.get()
    assert started["Location"] == f"/funds/sandbox/{topup.pk}/"
    assert client.get(started["Location"]).status_code == 200
    assert notify(client, "sandbox", _signed_payment(topup)).status_code == 200
    assert account_for(customer).balance == 140


# --- one judge per kind of payment ----------------------------------------------------------------------------


def test_operators_decide_manual_payments_only(admin_client, admin_user, customer):
    """A gateway payment the customer started and never paid, approved in a bulk "select all pending", would
    credit money nobody sent; one rejected by hand and then paid at the gateway would keep it."""
    from django.core.exceptions import ValidationError

    from billing.topups import topup_approve, topup_reject, topup_request

    started = topup_request(user=customer, amount=Decimal(100000), method="sandbox")  # never paid
    manual = topup_request(user=customer, amount=Decimal(25), method="manual", reference="BANK-1")

    page = admin_client.post(
        "/admin/billing/topup/",
        {"action": "approve", "_selected_action": [started.pk, manual.pk], "confirmed": "1"},
        follow=True,
    ).content.decode()
    assert "only the gateway" in page and "1 payment(s) credited" in page
    assert account_for(customer).balance == 125  # the manual one only
    assert not LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.DEPOSIT, reference=f"top-up {started.pk}"
    ).exists()
    with pytest.raises(ValidationError, match="only the gateway"):
        topup_reject(topup=started, actor=admin_user, note="Not seen")
    with pytest.raises(ValidationError, match="only the gateway"):
        topup_approve(topup=started, actor=admin_user)
    started.refresh_from_db()
    assert started.status == TopUp.Status.PENDING and started.decided_by is None

    # The gateway decides it: paid, credited once.
    assert notify(admin_client, "sandbox", _signed_payment(started)).status_code == 200
    assert account_for(customer).balance == 100125


def test_a_payment_the_gateway_canceled_and_then_took_is_credited_once(client, customer):
    topup = TopUp.objects.create(user=customer, amount=Decimal(40), method=TopUp.Method.SANDBOX)
    canceled = GATEWAYS["sandbox"].sign(
        topup_id=topup.pk, paid=False, amount=topup.amount, gateway_reference="x"
    )
    assert notify(client, "sandbox", canceled).status_code == 200
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.CANCELED and account_for(customer).balance == 100

    for _ in range(
        2
    ):  # paid after all (the customer came back to the gateway's page), and the gateway repeats
        assert notify(client, "sandbox", _signed_payment(topup)).status_code == 200
    assert notify(client, "sandbox", canceled).status_code == 200  # a late "canceled" undoes nothing

    topup.refresh_from_db()
    assert topup.status == TopUp.Status.CREDITED and account_for(customer).balance == 140
    assert (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEPOSIT, reference=f"top-up {topup.pk}").count() == 1
    )
