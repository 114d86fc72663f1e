"""Per-provider calls-per-minute limits, shared by every worker process (the `limits` package).

With ``REDIS_URL`` the moving window lives in Redis, so all web and Celery processes draw from the
same budget; without it (the embedded demo) each process keeps its own window in memory.
"""

import time
from collections.abc import Callable

from django.conf import settings
from limits import RateLimitItemPerMinute

from panels.client import ProviderUnavailable
from reseller.ratelimits import rate_limiter


def provider_rate_limiter(provider_id: int, calls_per_minute: int) -> Callable[[], None]:
    """A callable that blocks until the provider has a free call slot, or raises if none frees up.

    Raising :class:`ProviderUnavailable` is correct: at that point nothing has been sent.
    """
    item = RateLimitItemPerMinute(max(1, calls_per_minute))
    key = (settings.RATELIMIT_NAMESPACE, "provider-calls", str(provider_id))

    def acquire() -> None:
        limiter = rate_limiter()
        deadline = time.monotonic() + settings.PROVIDER_RATE_LIMIT_MAX_WAIT
        while not limiter.hit(item, *key):
            wait = max(0.05, limiter.get_window_stats(item, *key).reset_time - time.time())
            if time.monotonic() + wait > deadline:
                raise ProviderUnavailable(
                    f"Our limit of {calls_per_minute} calls a minute to this provider is used up; "
                    "nothing was sent, the call will be made later."
                )
            time.sleep(min(wait, 1.0))

    return acquire
