"""Per-provider calls-per-minute budgets, shared by every worker process (the `limits` package).

With ``REDIS_URL`` the moving window lives in Redis, so all web and Celery processes draw from the
same budget; without it (the embedded demo) each process keeps its own window in memory.

Nobody waits for a slot: a call that finds none is refused at once (``RateLimited``: nothing was sent) and
its caller comes back when ``retry_after`` says a slot frees up. Sending orders may use the budget but for a
tenth of it (``KEPT_FOR_FOLLOW_UP``): a backlog of orders would otherwise take every slot, and status syncs,
refills, cancels and balance checks of that provider would find none for as long as the backlog lasts.
"""

import math
import time

from django.conf import settings
from limits import RateLimitItemPerMinute

from panels.client import RateLimited
from reseller.ratelimits import rate_limiter

KEPT_FOR_FOLLOW_UP = 0.1


class ProviderBudget:
    """The calls a minute this panel allows itself towards one provider."""

    def __init__(self, provider_id: int, calls_per_minute: int):
        self.calls_per_minute = max(1, calls_per_minute)
        self._item = RateLimitItemPerMinute(self.calls_per_minute)
        self._key = (settings.RATELIMIT_NAMESPACE, "provider-calls", str(provider_id))
        # At least one call kept back, unless the budget is a single call.
        self.kept = min(self.calls_per_minute - 1, math.ceil(self.calls_per_minute * KEPT_FOR_FOLLOW_UP))

    def take(self, *, for_sending: bool = False) -> float:
        """Take a slot: 0 when one was taken, otherwise the seconds until one frees up (nothing taken).
        ``for_sending`` leaves the slots kept for follow-up calls."""
        limiter = rate_limiter()
        keep = self.kept if for_sending else 0
        # Checked, then hit: a follow-up call taking a slot in between costs sending one kept slot, no more.
        if (not keep or limiter.test(self._item, *self._key, cost=keep + 1)) and limiter.hit(
            self._item, *self._key
        ):
            return 0.0
        return max(0.05, limiter.get_window_stats(self._item, *self._key).reset_time - time.time())

    def left(self) -> int:
        """Slots free in the current window."""
        return rate_limiter().get_window_stats(self._item, *self._key).remaining

    def acquire(self) -> None:
        """The client's hook before each HTTP attempt: a slot, or ``RateLimited`` at once."""
        if wait := self.take():
            raise RateLimited(
                f"Our limit of {self.calls_per_minute} calls a minute to this provider is used up; "
                f"nothing was sent. A call is free again in {math.ceil(wait)} s.",
                retry_after=wait,
            )
