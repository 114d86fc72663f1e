"""Webhook work for the Celery workers. Thin: hold the lock, call one service."""

from celery import shared_task
from django.utils import timezone

from orders.services import lease_kept
from reseller.locks import exclusive
from webhooks.models import Delivery
from webhooks.services import deliveries_prune, deliveries_send_due

# Renewed between endpoints; long enough for one endpoint's share of a batch at its time limits.
LEASE_SECONDS = 120


@shared_task
def deliver_webhooks() -> None:
    """Send what is due, batch after batch, until nothing is; one run at a time (a run going takes what
    was queued meanwhile, or the sweep starts another)."""
    with exclusive("webhooks:deliver", lease=LEASE_SECONDS) as lease:
        if lease is None:
            return
        while deliveries_send_due(keep_lease=lambda: lease_kept(lease)):
            if not lease_kept(lease):
                return


@shared_task
def sweep_webhooks() -> None:
    """Start a sending run when events are due: retries coming due, and events whose run was never queued
    (a broker outage) or died with its worker."""
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())
    if due.exists():
        deliver_webhooks.delay()


@shared_task
def prune_webhook_deliveries() -> int:
    return deliveries_prune()
