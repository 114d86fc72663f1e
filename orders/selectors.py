"""Reads shared by the storefront, both APIs and the admin."""

from django.db.models import QuerySet

from orders.models import Order, Refill, Service


def services_on_sale() -> QuerySet[Service]:
    """What customers can order now, in this panel's id order."""
    return (
        Service.objects.filter(status=Service.Status.ACTIVE).select_related("provider_service").order_by("pk")
    )


def orders_of(user) -> QuerySet[Order]:
    """A customer's orders: the only ones any customer-facing code may reach."""
    return Order.objects.filter(user=user)


def refills_of(user) -> QuerySet[Refill]:
    return Refill.objects.filter(order__user=user)
