"""Storefront services and prices in the admin: reprice, move to another provider service, pause and resume;
customer discounts and custom prices."""

import html
from decimal import Decimal

import pytest

from billing.money import to_money
from catalogue.models import MarkupRule, Service
from orders.models import Order
from orders.services import order_place
from panels.models import ProviderService
from tests.orders.support import data_for
from tests.staff import staff

pytestmark = pytest.mark.django_db
S = Order.Status


def test_reprice_and_move_services_in_the_admin(client, placed, shop):
    staff(client, "olive", "Owner")
    service = placed.service
    upstream = service.provider_service
    client.post(
        "/admin/catalogue/service/",
        {
            "action": "reprice",
            "_selected_action": [service.pk],
            "confirmed": "1",
            "percent": "100",
            "fixed": "0",
            "rounding": "0.0001",
        },
    )
    service.refresh_from_db()
    assert service.price == (upstream.rate * 2).quantize(Decimal("0.0001"))
    assert MarkupRule.objects.get(provider_service=upstream).percent == 100

    _, other_provider = shop("smmcool")
    target = ProviderService.objects.filter(provider=other_provider, type="Default", active=True).first()
    two = Service.objects.exclude(pk=service.pk).first()
    refused = client.post(
        "/admin/catalogue/service/", {"action": "move", "_selected_action": [service.pk, two.pk]}, follow=True
    ).content.decode()
    assert "Choose exactly one service to move." in refused and 'name="provider_service"' not in refused
    page = client.post(
        "/admin/catalogue/service/", {"action": "move", "_selected_action": [service.pk]}
    ).content.decode()
    assert f"Sell {service} from another provider service" in page and f'value="{target.pk}"' in page
    client.post(
        "/admin/catalogue/service/",
        {"action": "move", "_selected_action": [service.pk], "confirmed": "1", "provider_service": target.pk},
    )
    service.refresh_from_db()
    assert service.provider_service == target
    assert target.min_quantity <= service.min_quantity <= service.max_quantity <= target.max_quantity


def test_service_pause_and_resume(client, placed):
    staff(client, "olive", "Owner")
    service = placed.service
    client.post("/admin/catalogue/service/", {"action": "take_off_sale", "_selected_action": [service.pk]})
    assert Service.objects.get(pk=service.pk).status == Service.Status.DISABLED
    client.post("/admin/catalogue/service/", {"action": "put_back_on_sale", "_selected_action": [service.pk]})
    assert Service.objects.get(pk=service.pk).status == Service.Status.ACTIVE


def test_discounts_and_custom_prices_set_in_the_admin(client, placed, customer):
    from catalogue.pricing import customer_price

    service = placed.service
    staff(client, "olive", "Owner")
    response = client.post(
        "/admin/catalogue/customerpricing/add/", {"user": customer.pk, "discount_percent": "10"}
    )
    assert response.status_code == 302
    assert customer_price(user=customer, service=service) == to_money(service.price * Decimal("0.9"))
    refused = client.post(
        "/admin/catalogue/customerpricing/add/", {"user": customer.pk, "discount_percent": "150"}
    )
    assert b"less than or equal to 100" in refused.content

    custom = {"user": customer.pk, "service": service.pk, "price": "0.5"}
    refused = client.post("/admin/catalogue/customerserviceprice/add/", custom)
    assert (  # the provider's rate is 0.90
        f"Under the current cost: {service} (dave's custom price) at 0.5: margin -0.4000 (-80.0%), cost 0.9000."
        in html.unescape(refused.content.decode())
    )
    assert customer_price(user=customer, service=service) == to_money(service.price * Decimal("0.9"))
    client.post("/admin/catalogue/customerserviceprice/add/", {**custom, "allow_loss": "on"})
    assert customer_price(user=customer, service=service) == Decimal("0.5")
    order = order_place(user=customer, service=service, data=data_for(service))
    assert order.charge == to_money(Decimal("0.5") * order.units / 1000)
