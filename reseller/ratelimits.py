"""Moving-window rate limits (the ``limits`` package) shared by every process: in Redis with ``REDIS_URL``,
in each process's memory otherwise (the embedded panel has one web process)."""

import threading
from functools import cache

from django.conf import settings
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@cache
def _limiter(storage_uri: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(storage_uri))


# The first use in a process builds the storage, importing its client library lazily: threads doing it at
# once (a status sync fanning out) raced inside ``limits`` and failed with ConfigurationError.
_first_use = threading.Lock()


def rate_limiter() -> MovingWindowRateLimiter:
    with _first_use:
        return _limiter(settings.RATELIMIT_STORAGE_URI)


def within_rate(rate: str, *key: str) -> bool:
    """Count one more use of ``key`` under ``rate`` ("10/hour"); False, counting nothing, when it is spent."""
    return rate_limiter().hit(parse(rate), settings.RATELIMIT_NAMESPACE, *key)
