"""Periodic provider work. Thin: each task takes an id, holds a lock, and calls one service."""

import logging

from celery import shared_task
from django.conf import settings

from panels.catalogue import CatalogueRefused, catalogue_sync
from panels.client import ProviderError
from panels.models import Provider
from panels.services import balance_sync, provider_calls_prune
from reseller.locks import exclusive

logger = logging.getLogger(__name__)

# The catalogue sync renews nothing while it works: its lock outlasts the task's time limit (and is shorter
# than its interval, so a crashed run never costs the next one).
CATALOGUE_LOCK_SECONDS = 15 * 60


@shared_task
def sync_all_catalogues() -> None:
    for provider_id in Provider.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_catalogue.delay(provider_id)


@shared_task
def sync_catalogue(provider_id: int) -> None:
    with exclusive(f"catalogue-sync:{provider_id}", lease=CATALOGUE_LOCK_SECONDS) as lease:
        if lease is None:
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
    # One call bounded by its timeouts: two intervals outlast it, so a crashed run costs at most one more.
    with exclusive(f"balance-sync:{provider_id}", lease=2 * 60 * settings.BALANCE_SYNC_MINUTES) as lease:
        if lease is None:
            return
        try:
            balance_sync(provider=Provider.objects.get(pk=provider_id))
        except ProviderError:
            return  # recorded on the SyncRun


@shared_task
def prune_provider_calls() -> None:
    logger.info("Pruned %s old provider calls", provider_calls_prune())
