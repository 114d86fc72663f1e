"""Reads about webhooks: a customer's own, never anyone else's."""

from django.db.models import QuerySet

from webhooks.models import Delivery, Endpoint

LOG_ROWS = 50


def endpoint_of(user) -> Endpoint | None:
    return Endpoint.objects.filter(user=user).first()


def deliveries_of(user) -> QuerySet[Delivery]:
    """``user``'s delivery log, newest first."""
    return Delivery.objects.filter(endpoint__user=user).order_by("-created_at", "-pk")
