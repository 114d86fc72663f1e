"""Reads of orders and refills shared by the storefront, both APIs and the admin."""

from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from orders.models import Order, Refill
from orders.services import OPEN_UPSTREAM, STUCK_SENDING
from panels.models import Provider
from reseller.bulk import rows_of_pks

S = Order.Status
# How long an order may sit before an operator should look at it.
STUCK_QUEUED = timedelta(minutes=10)
STUCK_WAITING = timedelta(hours=1)
UNCONFIRMED_CANCEL = timedelta(hours=1)


def orders_of(user) -> QuerySet[Order]:
    """A customer's orders: the only ones any customer-facing code may reach."""
    return Order.objects.filter(user=user)


def order_rows_of(user, pks: Collection[int], fields: Sequence[str]) -> list[tuple]:
    """``(pk, *fields)`` of those of ``pks`` that are ``user``'s orders (``orders_of``), read as tuples by one
    short statement whatever the number of ids (``reseller.bulk.rows_of_pks``)."""
    return rows_of_pks(Order, pks, fields, user=user.pk)


def refills_of(user) -> QuerySet[Refill]:
    return Refill.objects.filter(order__user=user)


def orders_needing_review(*, now=None) -> QuerySet[Order]:
    """Orders an operator must look at, oldest first: the outcome is unknown (the provider may or may not
    have it), the provider reported it finished without the figures its refund needs, or the order is stuck
    sending, not sent, waiting, its cancel was never confirmed, or the provider no longer accounts for it
    (for ``UNACCOUNTED_REVIEW_MINUTES`` and at least ``UNACCOUNTED_REVIEW_SYNCS`` syncs in a row) or is
    disabled (not synced for ``UNACCOUNTED_REVIEW_MINUTES``). A stuck
    order the operator marked resolved stays out until it gets stuck again; an unknown outcome or missing
    figures never do: they are settled."""
    now = now or timezone.now()
    unaccounted_for = now - timedelta(minutes=settings.UNACCOUNTED_REVIEW_MINUTES)
    # The disabled providers by id (a query of their own): joined, the provider's flag would make PostgreSQL
    # read every open order; by id, each rule below is read from an index (status, a sparse column's
    # partial index, provider and status) however long the history.
    disabled = list(Provider.objects.filter(enabled=False).values_list("pk", flat=True))
    stuck = [
        Q(status=S.SENDING, sending_since__lt=now - STUCK_SENDING),
        Q(status=S.QUEUED, created_at__lt=now - STUCK_QUEUED),
        Q(status=S.WAITING, created_at__lt=now - STUCK_WAITING),
        Q(status__in=OPEN_UPSTREAM, cancel_requested_at__lt=now - UNCONFIRMED_CANCEL),
        Q(
            status__in=OPEN_UPSTREAM,
            unaccounted_since__lt=unaccounted_for,
            unaccounted_syncs__gte=settings.UNACCOUNTED_REVIEW_SYNCS,
        ),
        # Its provider is disabled: no status answer will ever finish it, nor refund what it did not deliver.
        Q(status__in=OPEN_UPSTREAM, provider__in=disabled)
        & (
            Q(last_synced_at__lt=unaccounted_for)
            | Q(last_synced_at__isnull=True, sent_at__lt=unaccounted_for)
        ),
    ]
    unsettled = Q(status=S.NEEDS_REVIEW) | Q(status__in=OPEN_UPSTREAM, figures_missing_since__isnull=False)
    # Each stuck rule with the "not resolved" condition of its own: an OR of rules, each on its index.
    unresolved = Q(review_resolved_at__isnull=True)
    return Order.objects.filter(reduce(or_, [unsettled, *(rule & unresolved for rule in stuck)])).order_by(
        "created_at", "pk"
    )


def refills_needing_review() -> QuerySet[Refill]:
    """Refill requests sent with no valid answer: the provider may or may not have them. Never re-sent by
    the panel; the operator attaches the provider's id or closes them."""
    return Refill.objects.filter(status=Refill.Status.NEEDS_REVIEW).order_by("updated_at", "pk")
