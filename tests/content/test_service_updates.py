"""The service updates page, fed where prices and sales change: a real catalogue sync against the provider
simulator, publishing, the admin's repricing, take off / put back on sale and moves. Customer-facing prices
only; bulk writes whatever the number of services."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F

from catalogue.following import services_follow_catalogue
from catalogue.models import MarkupRule, Service
from catalogue.publishing import service_move, services_publish, services_publish_selected, services_reprice
from content.models import ServiceUpdate
from panels.catalogue import catalogue_sync
from panels.models import ProviderService
from panels.services import provider_upsert
from tests.console.support import page_form

pytestmark = pytest.mark.django_db
D = Decimal
K = ServiceUpdate.Kind


def sold(remote_id: str) -> Service:
    return Service.objects.get(provider_service__remote_id=remote_id)


def updates_of(service: Service) -> list[tuple]:
    return list(
        ServiceUpdate.objects.filter(service=service)
        .order_by("pk")
        .values_list("kind", "old_price", "new_price")
    )


def test_publishing_records_each_new_service_at_its_price(synced_provider):
    services_publish(provider=synced_provider, percent=D(50))
    assert updates_of(sold("1")) == [(K.NEW, None, D("1.35"))]  # 0.90 + 50%
    assert ServiceUpdate.objects.filter(kind=K.NEW).count() == Service.objects.count() > 3

    services_publish(provider=synced_provider, percent=D(50))  # nothing changed: nothing new to tell
    assert ServiceUpdate.objects.count() == Service.objects.count()


def test_a_catalogue_sync_records_a_price_rise_a_vanished_service_and_its_return(
    synced_provider, simulator, client
):
    services_publish(provider=synced_provider, percent=D(50))
    ServiceUpdate.objects.all().delete()
    simulator.sim.set_service(1, rate=D("2.00"))
    simulator.sim.set_service(2, rate=D("0.10"))
    simulator.sim.remove_service(3)
    (added,) = simulator.sim.add_services(1)
    catalogue_sync(provider=synced_provider)

    assert updates_of(sold("1")) == [(K.PRICE_UP, D("1.35"), D("3.00"))]
    assert updates_of(sold("2")) == [(K.PRICE_DOWN, D("0.18"), D("0.15"))]
    assert updates_of(sold("3")) == [(K.OFF_SALE, None, sold("3").price)]
    assert not Service.objects.filter(provider_service__remote_id=str(added)).exists()  # not published yet
    assert ServiceUpdate.objects.count() == 3

    services_publish_selected(
        provider_services=ProviderService.objects.filter(remote_id=str(added)), percent=D(20)
    )
    new = sold(str(added))
    assert updates_of(new) == [(K.NEW, None, new.price)]

    simulator.sim.restore_service(3)
    catalogue_sync(provider=synced_provider)
    assert updates_of(sold("3"))[-1] == (K.ON_SALE, None, sold("3").price)
    catalogue_sync(provider=synced_provider)  # nothing changed upstream: nothing recorded
    assert ServiceUpdate.objects.count() == 5

    page = client.get("/updates/").content.decode()
    for service in [sold("1"), sold("2"), sold("3"), new]:
        assert service.name in page
    assert "1.3500 USD</span> → <span class=\"money\">3.0000 USD" in page
    assert "0.1800 USD</span> → <span class=\"money\">0.1500 USD" in page
    # Never the provider's side: its name, its costs.
    assert synced_provider.name not in page and "2.00" not in page and "0.90" not in page


def test_the_operator_taking_off_and_putting_back_on_sale_and_repricing_in_the_admin(
    synced_provider, operator_client
):
    services_publish(provider=synced_provider, percent=D(50))
    ServiceUpdate.objects.all().delete()
    followers, likes = sold("1"), sold("2")
    url = "/admin/catalogue/service/"

    operator_client.post(url, {"action": "take_off_sale", "_selected_action": [followers.pk, likes.pk]})
    assert updates_of(followers) == [(K.OFF_SALE, None, D("1.35"))]
    operator_client.post(url, {"action": "take_off_sale", "_selected_action": [followers.pk]})  # no change
    operator_client.post(url, {"action": "put_back_on_sale", "_selected_action": [followers.pk]})
    assert updates_of(followers) == [(K.OFF_SALE, None, D("1.35")), (K.ON_SALE, None, D("1.35"))]
    assert updates_of(likes) == [(K.OFF_SALE, None, D("0.18"))]

    reprice = {"action": "reprice", "confirmed": "1", "percent": "100", "fixed": "0", "rounding": "0.01"}
    operator_client.post(url, {**reprice, "_selected_action": [followers.pk]})
    assert updates_of(followers)[-1] == (K.PRICE_UP, D("1.35"), D("1.80"))

    # A price typed in the service's own page is told too.
    data = page_form(operator_client, f"{url}{followers.pk}/change/", "price")
    data.update(price="1.5000", allow_loss="on")
    response = operator_client.post(f"{url}{followers.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert updates_of(followers)[-1] == (K.PRICE_DOWN, D("1.80"), D("1.50"))


def test_moving_a_service_tells_its_new_price(synced_provider):
    services_publish(provider=synced_provider, percent=D(50))
    followers = sold("1")
    cheaper = ProviderService.objects.create(
        provider=synced_provider,
        remote_id="9001",
        name="Cheaper",
        type="Default",
        category="X",
        rate=D("0.50"),
        min_quantity=10,
        max_quantity=10000,
    )
    ServiceUpdate.objects.all().delete()
    service_move(service=followers, provider_service=cheaper)
    assert updates_of(followers) == [(K.PRICE_DOWN, D("1.35"), D("0.75"))]


def test_the_page_is_paged_and_filtered_by_kind_and_category(synced_provider, simulator, client):
    services_publish(provider=synced_provider, percent=D(50))
    simulator.sim.set_service(1, rate=D("2.00"))
    catalogue_sync(provider=synced_provider)
    followers = sold("1")

    rises = client.get("/updates/", {"kind": K.PRICE_UP}).content.decode()
    assert followers.name in rises and sold("2").name not in rises
    in_category = client.get("/updates/", {"category": sold("2").category}).content.decode()
    assert sold("2").name in in_category and followers.name not in in_category
    for hostile in [{"kind": "nope"}, {"category": "\x00"}, {"page": "x"}, {"page": "99999"}]:
        assert client.get("/updates/", hostile).status_code == 200

    ServiceUpdate.objects.bulk_create(
        ServiceUpdate(service=followers, kind=K.PRICE_DOWN, old_price=D(2), new_price=D(1)) for _ in range(60)
    )
    first = client.get("/updates/", {"kind": K.PRICE_DOWN}).content.decode()
    assert "Page 1 of 2" in first and "page=2" in first and "kind=price_down" in first
    assert client.get("/updates/", {"kind": K.PRICE_DOWN, "page": 2}).content.decode().count("2.0000 USD</span> →") == 10


def test_the_services_page_and_the_menu_link_to_the_updates(client, db):
    for path in ["/", "/services/"]:
        assert 'href="/updates/"' in client.get(path).content.decode()


# --- thousands of services: bulk writes, a bounded number of queries ----------------------------------

MANY = 2000
# Bulk writes, where a write per service would be thousands of queries. SQLite takes at most 999 parameters
# a query, so Django cuts its bulk inserts and updates into batches of a few dozen rows: more queries there.
FEW = 40 if connection.vendor == "postgresql" else 200


@pytest.fixture
def many_on_sale(db):
    provider, _ = provider_upsert(
        name="Big provider",
        api_url="http://127.0.0.1:9/api/v2",
        api_key="offline-key-0123456789",
        currency=settings.PANEL_CURRENCY,
    )
    MarkupRule.objects.create(provider=provider, percent=D(50))
    upstream = ProviderService.objects.bulk_create(
        ProviderService(
            provider=provider,
            remote_id=str(n),
            name=f"Service {n}",
            type="Default",
            category="Bulk",
            rate=D(1),
            min_quantity=10,
            max_quantity=10000,
        )
        for n in range(MANY)
    )
    Service.objects.bulk_create(
        Service(
            name=f"Service {n}",
            category="Bulk",
            type="Default",
            provider_service=service,
            min_quantity=10,
            max_quantity=10000,
            price=D("1.50"),
        )
        for n, service in enumerate(upstream)
    )
    return provider


@pytest.mark.slow  # thousands of rows: a few seconds
def test_following_a_cost_rise_on_thousands_of_services_is_a_few_queries(
    many_on_sale, django_assert_max_num_queries
):
    ProviderService.objects.update(rate=F("rate") * 2)
    with django_assert_max_num_queries(FEW):
        result = services_follow_catalogue(provider=many_on_sale)
    assert result.repriced == MANY
    assert (
        ServiceUpdate.objects.filter(kind=K.PRICE_UP, old_price=D("1.50"), new_price=D("3.00")).count()
        == MANY
    )


@pytest.mark.slow  # thousands of rows: a few seconds
def test_repricing_thousands_of_services_is_a_few_queries(many_on_sale, django_assert_max_num_queries):
    with django_assert_max_num_queries(FEW):
        result = services_reprice(services=Service.objects.all(), percent=D(100))
    assert len(result.repriced) == MANY
    assert MarkupRule.objects.filter(provider_service__isnull=False, percent=D(100)).count() == MANY
    assert ServiceUpdate.objects.filter(kind=K.PRICE_UP, new_price=D("2.00")).count() == MANY

    with django_assert_max_num_queries(FEW):  # again: the rules exist now, and are changed in bulk
        services_reprice(services=Service.objects.all(), percent=D(10))
    assert ServiceUpdate.objects.filter(kind=K.PRICE_DOWN, new_price=D("1.10")).count() == MANY
