"""Periodic provider work. Thin: each task takes an id, holds a lock, and calls one service."""

import logging

from celery import shared_task

from panels.catalogue import CatalogueRefused, catalogue_sync
from panels.client import ProviderError
from panels.models import Provider
from panels.services import balance_sync, provider_calls_prune
from reseller.locks import exclusive

logger = logging.getLogger(__name__)

SYNC_LOCK_SECONDS = 15 * 60  # longer than the task time limit


@shared_task
def sync_all_catalogues() -> None:
    for provider_id in Provider.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_catalogue.delay(provider_id)


@shared_task
def sync_catalogue(provider_id: int) -> None:
    with exclusive(f"catalogue-sync:{provider_id}", timeout=SYNC_LOCK_SECONDS) as acquired:
        if not acquired:
            logger.info("Catalogue sync of provider %s is already running; skipped", provider_id)
            return
        provider = Provider.objects.get(pk=provider_id)
        try:
            result = catalogue_sync(provider=provider)
        except (ProviderError, CatalogueRefused):
            return  # recorded on the SyncRun; the next scheduled run tries again
        logger.info("Catalogue of %s synced: %s", provider, result.summary())


@shared_task
def sync_all_balances() -> None:
    for provider_id in Provider.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_balance.delay(provider_id)


@shared_task
def sync_balance(provider_id: int) -> None:
    with exclusive(f"balance-sync:{provider_id}", timeout=SYNC_LOCK_SECONDS) as acquired:
        if not acquired:
            return
        try:
            balance_sync(provider=Provider.objects.get(pk=provider_id))
        except ProviderError:
            return  # recorded on the SyncRun


@shared_task
def prune_provider_calls() -> None:
    logger.info("Pruned %s old provider calls", provider_calls_prune())
