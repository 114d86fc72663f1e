"""Order work for the Celery workers. Thin: take an id, call one service."""

import logging

from celery import shared_task

from orders.refills import refill_send, refills_sweep, refills_sync_statuses
from orders.services import order_cancel_send, order_submit, orders_sweep, orders_sync_statuses
from panels.models import Provider, SyncRun
from panels.services import sync_run_fail, sync_run_finish, sync_run_start
from reseller.locks import exclusive

logger = logging.getLogger(__name__)

STATUS_SYNC_LOCK_SECONDS = 15 * 60


@shared_task
def submit_order(order_id: int) -> None:
    # Redelivered after a worker crash, it finds the order already claimed and does nothing.
    retry_in = order_submit(order_id=order_id)
    if retry_in:
        submit_order.apply_async((order_id,), countdown=retry_in)


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
    counts = orders_sweep() | refills_sweep()
    if any(counts.values()):
        logger.info("Order sweep: %s", counts)


@shared_task
def sync_all_order_statuses() -> None:
    for provider_id in Provider.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_order_statuses.delay(provider_id)


@shared_task
def sync_order_statuses(provider_id: int) -> None:
    with exclusive(f"status-sync:{provider_id}", timeout=STATUS_SYNC_LOCK_SECONDS) as acquired:
        if not acquired:
            return  # the previous run is still going: never overlap
        provider = Provider.objects.get(pk=provider_id)
        run = sync_run_start(provider=provider, kind=SyncRun.Kind.STATUS)
        try:
            result = orders_sync_statuses(provider=provider)
            refills = refills_sync_statuses(provider=provider)
        except Exception as error:
            sync_run_fail(run=run, error=error)
            raise
        summary = (
            f"{result.checked} orders checked in {result.calls} calls, {result.moved} moved, "
            f"{result.failed_batches} batches failed; {refills} refills changed"
        )
        if result.failed_batches:
            sync_run_fail(run=run, error=RuntimeError(summary))
        else:
            sync_run_finish(run=run, summary=summary)
        logger.info("Status sync of provider %s: %s", provider_id, summary)
