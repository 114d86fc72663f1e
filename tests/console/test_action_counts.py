"""The front page counts what calls for an operator — the review queue, tickets waiting, manual payments,
prices under cost — each linking to the list it counts; approving a payment shows who gets what first."""

import re
from decimal import Decimal

import pytest
from django.conf import settings

from billing.models import TopUp
from billing.services import account_for
from billing.topups import topup_request
from catalogue.models import CustomerServicePrice
from orders.models import Order
from panels.models import Provider
from tests.staff import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def losing(on_sale, customer):
    """Three services at cost 1 per 1000: one listed under it, one under it for a customer only, one fine."""
    listed, custom, fine = on_sale(price="0.5000"), on_sale(price="2.0000"), on_sale(price="3.0000")
    Provider.objects.update(currency=settings.PANEL_CURRENCY)
    CustomerServicePrice.objects.create(user=customer, service=custom, price=Decimal("0.9000"))
    return listed, custom, fine


def test_prices_under_cost_are_counted_and_link_to_those_services(client, losing):
    listed, custom, _fine = losing
    staff(client, "olive", "Owner")

    page = client.get("/admin/").content.decode()

    assert '<strong id="under-cost" class="waiting">2</strong> service(s) with a price under its cost' in page
    assert "/admin/catalogue/service/?under_cost=yes" in page
    shown = client.get("/admin/catalogue/service/?under_cost=yes").content.decode()
    ids = set(map(int, re.findall(r'name="_selected_action" value="(\d+)"', shown)))
    assert ids == {listed.pk, custom.pk}


def test_support_sees_no_prices_count(client, losing):
    staff(client, "sam", "Support")
    page = client.get("/admin/").content.decode()
    assert "under-cost" not in page and "Prices under cost" not in page
    assert "Needs review" in page  # its own counts stay


def test_every_count_calling_for_action_links_to_its_filtered_list(client, customer, losing):
    topup_request(user=customer, amount=Decimal(10), method="manual", reference="BANK-1")
    listed = losing[0]
    Order.objects.create(
        user=customer,
        service=listed,
        provider=listed.provider_service.provider,
        provider_service=listed.provider_service,
        type="Default",
        link="https://x.example/p",
        fields={},
        units=100,
        price=Decimal(1),
        charge=Decimal("0.1"),
        status=Order.Status.NEEDS_REVIEW,
    )
    staff(client, "olive", "Owner")
    page = client.get("/admin/").content.decode()
    for link in (
        "/admin/console/review/",
        "/admin/support/ticket/?waiting=staff",
        "/admin/billing/topup/?status__exact=pending&amp;method__exact=manual",
        "/admin/catalogue/service/?under_cost=yes",
    ):
        assert f'href="{link}"' in page
        assert client.get(link.replace("&amp;", "&")).status_code == 200
    assert re.search(r"Needs review</a></th>\s*<td><strong class=\"waiting\">1</strong>", page)
    assert '<strong id="manual-payments" class="waiting">1</strong>' in page


def test_approving_a_payment_asks_first_and_credits_once(client, customer):
    topup = topup_request(user=customer, amount=Decimal("12.50"), method="manual", reference="BANK-7")
    staff(client, "olive", "Owner")
    before = account_for(customer).balance
    chosen = {"action": "approve", "_selected_action": [topup.pk]}

    asked = client.post("/admin/billing/topup/", chosen).content.decode()
    assert "Credit 1 payment(s)" in asked and "dave — 12.50" in asked and "BANK-7" in asked
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.PENDING and account_for(customer).balance == before

    for _ in range(2):  # confirmed, then a double click
        client.post("/admin/billing/topup/", {**chosen, "confirmed": "1"})
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.CREDITED
    assert account_for(customer).balance == before + Decimal("12.50")
