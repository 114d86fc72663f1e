"""Copies of database rows in the shared cache (Redis in production), good until a writer says they are not.

Every entry carries the version of its family that was current *before* its rows were read; a writer replaces
the version (``forget``) at once and again when its transaction commits. A reader that raced the writer —
read the rows before the commit, stored them after — stored them under a version that is no longer current,
so nobody uses them: a revoked key or a paused service takes effect when its transaction commits. One round
trip on a hit (the version and the entry in one ``get_many``).
"""

import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction


class VersionedCache:
    def __init__(self, family: str, *, timeout: int = 300):
        self.version_key = f"{family}:version"
        self.family = family
        self.timeout = timeout

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        """The cached value of ``key``, else ``load()`` (and cached: None too)."""
        entry_key = f"{self.family}:{key}"
        found = cache.get_many([self.version_key, entry_key])
        version = found.get(self.version_key)
        if version is None:  # never set, or evicted: a new one (never one seen before), nothing cached yet
            cache.add(self.version_key, uuid.uuid4().hex, timeout=None)
            return load()
        entry = found.get(entry_key)
        if entry is not None and entry[0] == version:
            return entry[1]
        value = load()
        cache.set(entry_key, (version, value), timeout=self.timeout)
        return value

    def forget(self) -> None:
        """Every entry of the family is stale: now, and again once the caller's transaction commits (a reader
        in between read the rows as they were before it). Outside a transaction the change is committed."""
        self._new_version()
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(self._new_version)

    def _new_version(self) -> None:
        cache.set(self.version_key, uuid.uuid4().hex, timeout=None)
