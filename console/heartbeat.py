"""Proof of life of the background machinery. Beat queues ``console.tasks.heartbeat`` every minute on the
periodic queue; the worker that runs it records the periodic side and queues ``heartbeat_sending`` on the
sending queue, whose worker records that side. A fresh periodic heartbeat means beat and the periodic worker
are alive; a fresh sending one that orders, refills and cancels have a worker too."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

PERIODIC, SENDING = "periodic", "sending"


def heartbeat_key(side: str) -> str:
    return f"console:heartbeat:{side}"


def heartbeat_record(side: str) -> None:
    cache.set(heartbeat_key(side), timezone.now().isoformat(), timeout=None)


@dataclass(frozen=True)
class Heartbeat:
    side: str
    last: datetime | None

    @property
    def stale(self) -> bool:
        stale_after = 3 * settings.HEARTBEAT_SECONDS
        return self.last is None or (timezone.now() - self.last).total_seconds() > stale_after


def heartbeats() -> list[Heartbeat]:
    found = cache.get_many([heartbeat_key(PERIODIC), heartbeat_key(SENDING)])
    return [
        Heartbeat(side, datetime.fromisoformat(found[key]) if (key := heartbeat_key(side)) in found else None)
        for side in (PERIODIC, SENDING)
    ]
