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


def test_the_operator_sees_each_routes_cost_and_margin_and_edits_routes_audited(client, placed, shop):
    """Issue 17: the service page lists its routes with their cost and the margin the price earns there;
    a route added or changed there is in the page's audit row."""
    from audit.models import AuditEntry
    from catalogue.models import ServiceRoute
    from tests.console.support import forms_of

    staff(client, "olive", "Owner")
    service = placed.service  # smmcloud followers: 0.90 per 1000, sold at 1.35
    _, cool = shop("smmcool")
    other = (
        ProviderService.objects.filter(provider=cool, type="Default", active=True).order_by("rate").first()
    )
    url = f"/admin/catalogue/service/{service.pk}/change/"
    page = client.get(url).content.decode()
    assert "Routes: where orders go" in html.unescape(page)
    assert "0.9000 (0.9 USD)" in page and "+0.4500 (33.3%)" in page  # the primary route, as the service

    (fields, _), *_ = [form for form in forms_of(page) if ("routes-TOTAL_FORMS", "1") in form[0]]
    data = dict(fields)
    data.update(
        {
            "routes-TOTAL_FORMS": "2",
            "routes-1-position": "1",
            "routes-1-provider_service": str(other.pk),
            "routes-1-enabled": "on",
            "routes-1-max_quantity": str(other.max_quantity),
        }
    )
    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    route = ServiceRoute.objects.get(service=service, provider_service=other)
    assert route.position == 1 and route.limits == (other.min_quantity, other.max_quantity)
    entry = AuditEntry.objects.get(action="catalogue.serviceroute.add")
    assert (entry.actor.username, entry.target_id) == ("olive", str(route.pk))
    assert entry.changes["provider_service"][1] == str(other) and entry.changes["position"] == [None, 1]
    assert not AuditEntry.objects.filter(action="catalogue.service.change").exists()  # nothing else changed
    page = html.unescape(client.get(url).content.decode())
    cost = to_money(other.rate)  # smmcool's costs are in USD too
    assert f"{cost} ({other.rate.normalize():f} USD)" in page
    assert f"{to_money(service.price - cost):+}" in page  # the margin there

    # A route of another type is refused: the price and the fields sent are per the service's type.
    package = ProviderService.objects.filter(provider=cool, type="Package").first()
    data.update(
        {"routes-TOTAL_FORMS": "3", "routes-2-position": "2", "routes-2-provider_service": str(package.pk)}
    )
    data.update(
        {"routes-INITIAL_FORMS": "2", "routes-1-id": str(route.pk), "routes-1-service": str(service.pk)}
    )
    refused = client.post(url, data).content.decode()
    assert "Choose a Default service, like the storefront" in html.unescape(refused)
    assert service.routes.count() == 2
