"""Order work for the Celery workers. Thin: take an id, call one service."""

import logging

from celery import shared_task
from django.conf import settings

from orders.auto_refill import auto_refill_due, auto_refill_run
from orders.dispatch import (
    LEASE_SECONDS,
    dispatch_due,
    dispatch_kick,
    dispatch_run_ended,
    dispatch_run_started,
    dispatch_state_record,
    next_run_in,
    orders_dispatch,
)
from orders.refills import refill_send, refills_sweep, refills_sync_statuses
from orders.services import order_cancel_send, orders_sweep, orders_sync_statuses
from orders.tally import tally_fold
from panels.models import Provider, SyncRun
from panels.services import sync_run, sync_run_fail, sync_run_finish
from reseller.locks import exclusive

logger = logging.getLogger(__name__)


@shared_task
def dispatch_orders(provider_id: int) -> None:
    """Send a provider's due orders at its pace (``orders.dispatch``); one run per provider at a time."""
    with exclusive(f"dispatch:{provider_id}", lease=LEASE_SECONDS) as lease:
        if lease is None:
            return  # a run is going: it looks again for orders placed meanwhile once it stops
        dispatch_run_started(provider_id)
        try:
            run = orders_dispatch(provider=Provider.objects.get(pk=provider_id), lease=lease)
        finally:  # whatever happened, kicks queue messages again; the look below catches what came meanwhile
            dispatch_run_ended(provider_id)
        dispatch_state_record(provider_id, run)
    if (again_in := next_run_in(provider_id, run)) is not None:
        dispatch_kick(provider_id, countdown=again_in)


@shared_task
def send_refill(refill_id: int) -> None:
    if retry_in := refill_send(refill_id=refill_id):
        send_refill.apply_async((refill_id,), countdown=retry_in)


@shared_task
def send_cancel(order_id: int) -> None:
    if retry_in := order_cancel_send(order_id=order_id):
        send_cancel.apply_async((order_id,), countdown=retry_in)


@shared_task
def sweep_orders() -> None:
    counts = orders_sweep() | refills_sweep() | {"dispatchers kicked": dispatch_due()}
    if any(counts.values()):
        logger.info("Order sweep: %s", counts)


@shared_task
def tally_orders() -> None:
    """The dashboard's figures: the orders' changes of the last minute folded into their days."""
    tally_fold()


@shared_task
def sync_all_order_statuses() -> None:
    for provider_id in Provider.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_order_statuses.delay(provider_id)


@shared_task
def sync_order_statuses(provider_id: int) -> None:
    # A short lease, renewed by the running sync: a crashed worker's lock frees itself within two intervals.
    with exclusive(f"status-sync:{provider_id}", lease=2 * settings.STATUS_SYNC_SECONDS) as lease:
        if lease is None:
            return  # the previous run is still going: never overlap
        provider = Provider.objects.get(pk=provider_id)
        with sync_run(provider=provider, kind=SyncRun.Kind.STATUS) as run:
            result = orders_sync_statuses(provider=provider, lease=lease)
            refills = 0 if result.lock_lost else refills_sync_statuses(provider=provider, lease=lease)
            summary = (
                f"{result.checked} orders checked in {result.calls} calls, {result.moved} moved, "
                f"{result.failed_batches} batches failed, {result.deferred_batches} left for the next run by "
                f"the rate limit; {refills} refills changed"
                + ("; stopped: the lock was lost" if result.lock_lost else "")
            )
            if result.failed_batches or result.lock_lost:
                sync_run_fail(run=run, error=RuntimeError(summary))
            else:
                sync_run_finish(run=run, summary=summary)
        logger.info("Status sync of provider %s: %s", provider_id, summary)


@shared_task
def auto_refill_all() -> None:
    """Fan out to each provider with orders due for an auto-refill look."""
    due = auto_refill_due().values_list("provider", flat=True).order_by().distinct()
    for provider_id in due:
        auto_refill_provider.delay(provider_id)


@shared_task
def auto_refill_provider(provider_id: int) -> None:
    with exclusive(f"auto-refill:{provider_id}", lease=2 * settings.STATUS_SYNC_SECONDS) as lease:
        if lease is None:
            return  # the previous run is still going: never overlap
        result = auto_refill_run(provider=Provider.objects.get(pk=provider_id), lease=lease)
    if result.due:
        logger.info("Auto-refill of provider %s: %s", provider_id, result.summary())
