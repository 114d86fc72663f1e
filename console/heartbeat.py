"""Proof of life of the background machinery: beat queues ``console.tasks.heartbeat`` every minute and a
worker runs it, so a fresh heartbeat means both the scheduler and the workers are alive."""

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "console:heartbeat"
HEARTBEAT_STALE_SECONDS = 180


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


def heartbeat_last() -> datetime | None:
    value = cache.get(HEARTBEAT_KEY)
    return datetime.fromisoformat(value) if value else None
