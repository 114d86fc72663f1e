"""Locks shared by every process through the cache, so periodic work never overlaps itself.

A lock is a *lease*: it is held for ``seconds`` at a time and renewed by its holder while it works
(``Lease.renew()``, e.g. between batches). A holder that dies stops renewing, so its lock is free again
within one lease, not after the longest the work could ever take. Every lease carries an owner token: a
process never renews or releases a lock that another process holds.

On Redis (django-redis) it is redis-py's lock, whose acquire, renew and release are atomic (Lua scripts
that compare the token). On any other cache — the database cache of the embedded panel — it is
``cache.add``, and each compare-then-renew or compare-then-delete runs in one database transaction,
serialised per lock: SQLite's IMMEDIATE transactions do that, and an advisory lock on PostgreSQL.
"""

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django_redis.cache import RedisCache
from redis.exceptions import LockError


class Lease:
    """``name`` held by this process for ``seconds`` at a time."""

    def __init__(self, name: str, seconds: int):
        self.key = f"lock:{name}"
        self.seconds = seconds
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        with _serialised(self.key):
            return cache.add(self.key, self.token, self.seconds)

    def renew(self) -> bool:
        """Hold the lock ``seconds`` more from now. False when it was lost (expired, or taken since)."""
        with _serialised(self.key):
            return cache.get(self.key) == self.token and cache.touch(self.key, self.seconds)

    def release(self) -> None:
        with _serialised(self.key):
            if cache.get(self.key) == self.token:
                cache.delete(self.key)


class RedisLease(Lease):
    def __init__(self, name: str, seconds: int):
        super().__init__(name, seconds)
        # thread_local=False: the token lives on this object, whichever thread renews or releases it.
        self._lock = cache.lock(self.key, timeout=seconds, blocking=False, thread_local=False)

    def acquire(self) -> bool:
        return self._lock.acquire(blocking=False, token=self.token)

    def renew(self) -> bool:
        try:
            return self._lock.reacquire()
        except LockError:  # no longer ours: expired, or held by another process
            return False

    def release(self) -> None:
        with suppress(LockError):  # already lost: nothing of ours to release
            self._lock.release()


@contextmanager
def exclusive(name: str, *, lease: int) -> Iterator[Lease | None]:
    """Yield the held ``Lease`` when this caller got ``name``; None when another process holds it.

    The holder renews it more often than every ``lease`` seconds while it works; unrenewed, it frees
    itself after ``lease`` seconds, which is how a crashed holder's lock is reclaimed.
    """
    held = (
        RedisLease(name, lease) if isinstance(caches[DEFAULT_CACHE_ALIAS], RedisCache) else Lease(name, lease)
    )
    if not held.acquire():
        yield None
        return
    try:
        yield held
    finally:
        held.release()


@contextmanager
def _serialised(key: str) -> Iterator[None]:
    """On the database cache, one transaction per lock operation that nobody else's can interleave with."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, DatabaseCache):
        yield  # the in-memory cache of tests: one process
        return
    alias = router.db_for_write(backend.cache_model_class)
    with transaction.atomic(using=alias):
        if connections[alias].vendor == "postgresql":
            number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])
        yield
