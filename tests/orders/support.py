"""Helpers for order tests: pick a published service, fill its form, let the simulator finish."""

from catalogue.models import Service
from orders.models import Order
from orders.services import orders_sync_statuses
from tests.panels.test_client import FIELDS_BY_TYPE, LINE_FIELDS


def service_of(provider, type_name, **flags):
    return Service.objects.filter(provider_service__provider=provider, type=type_name, **flags).first()


def data_for(service, link="https://x.example/post"):
    data = dict(FIELDS_BY_TYPE[service.type])
    if "link" in data:
        data["link"] = link
    if "quantity" in data:
        data["quantity"] = str(service.min_quantity)
    if service.type in LINE_FIELDS:
        data[LINE_FIELDS[service.type]] = "\n".join(f"line {n}" for n in range(service.min_quantity))
    if service.type == "Subscriptions":
        data.update(
            {"min": str(service.min_quantity), "max": str(service.min_quantity), "posts": "2", "delay": "0"}
        )
        data.pop("expiry")
        data.pop("old_posts")
    return data


def settle(server, provider, order, steps=6):
    for _ in range(steps):
        server.sim.advance()
        orders_sync_statuses(provider=provider)
        order.refresh_from_db()
        if order.status in Order.states.final:
            break
    return order
