"""Rows in a given state for the tests of what reads them (the dashboard, the review queue, the operator's screens).

An order is placed through ``orders.services.order_place`` (validated, charged, logged), then *stored* in the
state asked for: the journeys between states are the business of the tests of the transitions, which walk
them through the services and the simulator."""

from datetime import timedelta

from django.utils import timezone

from orders.models import Order
from orders.services import order_place
from tests.orders.support import data_for


def order_in(status, *, user, service, link: str = "", age: timedelta = timedelta(0), **fields) -> Order:
    """An order of ``user`` for ``service`` (its form filled by ``data_for``), stored as ``status``, created
    ``age`` ago, with ``fields`` (charge, cost, refunded, provider_order_id, …) as given."""
    order = order_place(
        user=user,
        service=service,
        data=data_for(service, link=link or f"https://x.example/{Order.objects.count()}"),
    )
    Order.objects.filter(pk=order.pk).update(status=status, created_at=timezone.now() - age, **fields)
    order.refresh_from_db()
    return order
