"""Publish and reprice show, per service, the cost, the price the markup gives and the margin before the
operator confirms; previewing writes nothing."""

import re
from decimal import Decimal

import pytest
from django.conf import settings

from audit.models import AuditEntry
from catalogue.models import Service
from panels.models import Provider, ProviderService
from tests.staff import member

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def upstreams(on_sale):
    """A service on sale at 2.0000 (cost 1), and a provider service not yet on sale at cost 1.2345."""
    service = on_sale(price="2.0000")
    provider = service.provider_service.provider
    Provider.objects.filter(pk=provider.pk).update(currency=settings.PANEL_CURRENCY)
    fresh = ProviderService.objects.create(
        provider=provider,
        remote_id="777",
        name="Likes upstream",
        type="Default",
        category="Instagram",
        rate=D("1.2345"),
        min_quantity=10,
        max_quantity=1000,
    )
    return service, fresh


def preview(page) -> list[str]:
    found = re.search(r'<ul id="preview">(.*?)</ul>', page.content.decode(), re.S)
    assert found, "no preview on the page"
    return [re.sub(r"\s+", " ", line).strip() for line in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def test_publish_previews_cost_price_and_margin_at_the_initial_markup(client, upstreams):
    service, fresh = upstreams
    client.force_login(member("Owner"))
    chosen = {"action": "publish", "_selected_action": [service.provider_service.pk, fresh.pk]}

    lines = preview(client.post("/admin/panels/providerservice/", chosen))

    # 50% at first: 1 x 1.5 = 1.50; 1.2345 x 1.5 = 1.85175, up to the cent 1.86 (margin 0.6255 = 33.6%).
    assert lines == [
        "Offline provider #1 Default upstream: cost 1.0000 → price 1.5000 (now 2.0000), margin +0.5000 (33.3%)",
        "Offline provider #777 Likes upstream: cost 1.2345 → price 1.8600 (new), margin +0.6255 (33.6%)",
    ]


def test_a_changed_markup_is_previewed_without_publishing(client, upstreams):
    _service, fresh = upstreams
    client.force_login(member("Owner"))
    posted = {
        "action": "publish",
        "_selected_action": [fresh.pk],
        "confirmed": "1",
        "_preview": "Preview",
        "percent": "-10",
        "fixed": "0.1",
        "rounding": "0.05",
    }

    lines = preview(client.post("/admin/panels/providerservice/", posted))

    # 1.2345 x 0.9 + 0.1 = 1.21105, up to 0.05: 1.25, just over the cost.
    assert lines == [
        "Offline provider #777 Likes upstream: cost 1.2345 → price 1.2500 (new), margin +0.0155 (1.2%)"
    ]
    assert not Service.objects.filter(provider_service=fresh).exists()
    assert not AuditEntry.objects.filter(action__startswith="catalogue.service.").exists()

    posted["percent"] = "-20"  # 1.0876 → 1.10: under the cost, said so
    (line,) = preview(client.post("/admin/panels/providerservice/", posted))
    assert line.endswith("price 1.1000 (new), margin -0.1345 (-12.2%) — UNDER COST")


def test_reprice_previews_each_service_and_the_hand_set_price_it_replaces(client, upstreams):
    service, _ = upstreams
    Service.objects.filter(pk=service.pk).update(manual_price=True, price=D("5.0000"))
    client.force_login(member("Owner"))
    posted = {
        "action": "reprice",
        "_selected_action": [service.pk],
        "confirmed": "1",
        "_preview": "Preview",
        "percent": "25",
        "fixed": "0",
        "rounding": "0.01",
    }

    (line,) = preview(client.post("/admin/catalogue/service/", posted))

    assert line.endswith("cost 1.0000 → price 1.2500 (now 5.0000), margin +0.2500 (20.0%)")
    service.refresh_from_db()
    assert (service.price, service.manual_price) == (D("5.0000"), True)
    del posted["_preview"]
    client.post("/admin/catalogue/service/", posted)
    service.refresh_from_db()
    assert (service.price, service.manual_price) == (D("1.2500"), False)  # what the preview said
