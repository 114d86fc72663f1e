"""Customers in the admin: disabling one, and a customer's page with their discount and custom prices."""

import html
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from api.models import ApiKey
from api.services import api_key_issue
from billing.money import to_money
from catalogue.models import Service
from orders.models import Order
from tests.staff import staff

pytestmark = pytest.mark.django_db
S = Order.Status


def test_disabling_a_customer_stops_logins_and_api_keys(client, customer):
    _, key = api_key_issue(user=customer)
    staff(client, "olive", "Owner")
    client.post("/admin/auth/user/", {"action": "disable", "_selected_action": [customer.pk]})
    customer.refresh_from_db()
    assert not customer.is_active
    assert not ApiKey.objects.filter(user=customer, revoked_at__isnull=True).exists()
    assert client.post("/api/v2", {"key": key, "action": "balance"}).json() == {"error": "Invalid API key"}
    client.post("/admin/auth/user/", {"action": "enable", "_selected_action": [customer.pk]})
    assert User.objects.get(pk=customer.pk).is_active


def test_a_customers_page_holds_their_discount_and_custom_prices(client, placed, customer):
    from catalogue.pricing import customer_price

    service = placed.service
    staff(client, "olive", "Owner")
    url = f"/admin/auth/user/{customer.pk}/change/"
    assert "custom prices (per 1000, or per package)" in client.get(url).content.decode().lower()
    inlines = {  # each inline's management form, as the page sends it
        prefix: {f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0"}
        for prefix in ["profile", "pricing", "custom_prices"]
    }
    form = {
        "username": customer.username,
        "email": "dave@example.com",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        **inlines["profile"],  # the fixture's customer has no profile yet: the page adds one
        "profile-0-user": str(customer.pk),
        "profile-0-timezone": "UTC",
        "profile-0-language": "en",
        **inlines["pricing"],
        "pricing-0-user": str(customer.pk),
        "pricing-0-discount_percent": "20",
        **inlines["custom_prices"],
        "custom_prices-0-user": str(customer.pk),
        "custom_prices-0-service": str(service.pk),
        "custom_prices-0-price": "0.25",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    said = "(dave's custom price) at 0.25: margin -0.6500 (-260.0%), cost 0.9000"
    assert said in html.unescape(refused.content.decode())
    assert customer_price(user=customer, service=service) == service.price  # nothing saved, nor the discount
    response = client.post(url, {**form, "custom_prices-0-allow_loss": "on"})
    assert response.status_code == 302, response.context and [
        response.context["adminform"].form.errors,
        [formset.formset.errors for formset in response.context["inline_admin_formsets"]],
    ]
    assert customer_price(user=customer, service=service) == Decimal("0.25")
    other = Service.objects.exclude(pk=service.pk).filter(status=Service.Status.ACTIVE).first()
    assert customer_price(user=customer, service=other) == to_money(other.price * Decimal("0.8"))
    page = html.unescape(client.get(url).content.decode())
    assert "-0.6500 (-260.0%) under cost" in page  # beside the custom price
    likes = Service.objects.get(provider_service__remote_id="2", provider_service__provider=placed.provider)
    assert (
        f"#{likes.pk} Instagram Likes [No Refill] at 0.1440: +0.0240 (16.7%)" in page
    )  # 0.18 less 20%; cost 0.12

    staff(client, "sue", "Support")
    page = client.get(url).content.decode().lower()
    assert "custom prices" not in page and "discount" not in page
