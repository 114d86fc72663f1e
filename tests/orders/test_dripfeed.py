"""Drip-feed with providers that answer `services` as the seed documents do: no `dripfeed` field.

A missing flag is "not stated", not "no": Default services take runs/interval unless the provider says no,
the operator switches it per provider and per storefront service, and a provider that refuses anyway fails
the order with a full refund like any permanent refusal.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from api.serializers import ServiceSerializer
from api.v2_actions import services as v2_services
from billing.services import account_for, ledger_audit
from catalogue.models import Service
from orders.models import Order
from orders.order_types import dripfeed_allowed
from orders.services import order_place, order_submit
from panels.catalogue import catalogue_sync
from panels.models import Provider
from storefront.forms import order_form
from tests.orders.support import service_of, settle

S = Order.Status
DRIP = {"link": "https://x.example/drip", "quantity": "100", "runs": "4", "interval": "15"}
REFUSED = {"runs": ["This service cannot be drip-fed."]}


def followers(provider) -> Service:
    return Service.objects.select_related("provider_service__provider").get(
        provider_service__provider=provider, provider_service__remote_id="1"
    )


def v2_dripfeed(user, service) -> bool:
    return next(entry for entry in v2_services(user, {}) if entry["service"] == service.pk)["dripfeed"]


def refusal(customer, service) -> dict:
    with pytest.raises(ValidationError) as caught:
        order_place(user=customer, service=service, data=DRIP)
    return caught.value.message_dict


def test_the_documented_services_answer_says_nothing_and_drip_feed_is_sent(shop, customer):
    server, provider = shop("smmcloud")
    assert all("dripfeed" not in record for record in server.sim.services_list())  # the document's shape
    service = followers(provider)
    assert service.provider_service.dripfeed is None and "dripfeed" not in service.provider_service.raw
    assert dripfeed_allowed(service) and v2_dripfeed(customer, service) is True
    assert (
        ServiceSerializer(service, context={"prices": {service.pk: service.price}}).data["dripfeed"] is True
    )
    assert {"runs", "interval"} <= set(order_form(service).fields)

    order = order_place(user=customer, service=service, data=DRIP)
    order_submit(order_id=order.pk)
    order.refresh_from_db()

    assert (order.status, order.runs, order.units, order.charge) == (S.PENDING, 4, 400, Decimal("0.54"))
    upstream = server.sim.order(order.provider_order_id)
    assert (upstream.fields["runs"], upstream.fields["interval"], upstream.fields["quantity"]) == (
        "4",
        "15",
        "100",
    )
    assert settle(server, provider, order, steps=10).status == S.COMPLETED


def test_the_operator_switches_drip_feed_off_per_service(shop, customer):
    _, provider = shop("smmcloud")
    service = followers(provider)
    service.dripfeed = Service.Dripfeed.OFF
    service.save()

    assert refusal(customer, service) == REFUSED
    assert not {"runs", "interval"} & set(order_form(service).fields)
    assert v2_dripfeed(customer, service) is False
    # Without runs/interval the service sells as before.
    order_place(user=customer, service=service, data={"link": "https://x.example/p", "quantity": "100"})
    assert Order.objects.count() == 1


def test_the_operator_switches_drip_feed_off_per_provider_and_on_per_service(shop, customer):
    server, provider = shop("smmcloud")
    Provider.objects.filter(pk=provider.pk).update(dripfeed=Provider.Dripfeed.NEVER)
    service = followers(provider)

    assert refusal(customer, service) == REFUSED
    assert v2_dripfeed(customer, service) is False

    service.dripfeed = Service.Dripfeed.ON
    service.save()
    order = order_place(user=customer, service=followers(provider), data=DRIP)
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert server.sim.order(order.provider_order_id).fields["runs"] == "4"


def test_the_providers_explicit_no_wins_unless_the_service_says_on(shop, customer):
    # A provider that sends the non-standard flag, and says no for this service.
    server, provider = shop("smmcloud", dripfeed_flag=True)
    assert service_of(provider, "Default").provider_service.raw["dripfeed"] is True
    server.sim.set_service(1, dripfeed=False)
    catalogue_sync(provider=provider)
    service = followers(provider)
    assert service.provider_service.dripfeed is False

    assert refusal(customer, service) == REFUSED
    assert v2_dripfeed(customer, service) is False

    # The operator insists: the order is taken and sent, and the provider refuses it for good —
    # failed and refunded in full, like any permanent refusal.
    service.dripfeed = Service.Dripfeed.ON
    service.save()
    order = order_place(user=customer, service=service, data=DRIP)
    order_submit(order_id=order.pk)
    order.refresh_from_db()

    assert order.status == S.FAILED
    assert order.refunded == order.charge == Decimal("0.54")
    assert "Refused by the provider" in order.events.last().message
    assert server.sim.orders() == []  # nothing placed upstream
    assert account_for(customer).balance == Decimal("100")
    assert ledger_audit(account=account_for(customer)).ok


def test_a_provider_that_refuses_drip_feed_without_saying_so_fails_and_refunds(shop, customer):
    server, provider = shop("smmcloud")
    server.sim.set_service(1, dripfeed=False)  # refuses runs, and its services answer still says nothing
    service = followers(provider)
    assert dripfeed_allowed(service)

    order = order_place(user=customer, service=service, data=DRIP)
    order_submit(order_id=order.pk)
    order.refresh_from_db()

    assert order.status == S.FAILED and order.refunded == order.charge
    assert account_for(customer).balance == Decimal("100")
    assert ledger_audit(account=account_for(customer)).ok
