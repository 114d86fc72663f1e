"""A lock shared by every process through the cache, so periodic work never overlaps itself."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


@contextmanager
def exclusive(name: str, *, timeout: int) -> Iterator[bool]:
    """Yield True when this caller holds ``name``; False when someone else does.

    ``timeout`` must outlast the work: it only frees a lock whose holder died.
    """
    key = f"lock:{name}"
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)
