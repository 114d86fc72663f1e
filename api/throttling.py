"""Per-key rate limits for both APIs: a moving window shared by every process (``reseller.ratelimits``: Redis
in production), one round trip a call. DRF's own throttle read and wrote back the list of every call's time in
the window: two round trips, and up to API_RATE_LIMIT timestamps unpickled and pickled again on each call."""

import time

from django.conf import settings
from limits import RateLimitItemPerSecond
from rest_framework.throttling import BaseThrottle

from api.models import ApiKey
from reseller.client_ip import client_limit_key
from reseller.ratelimits import rate_limiter

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def api_rate_refusal(ident: str) -> float | None:
    """Count one call of ``ident`` under API_RATE_LIMIT: None when allowed, else the seconds until the window
    lets the next one in (the refused call is not counted)."""
    # Read per call, so a changed setting applies at once; DRF's spelling ("1200/min", "10/s").
    count, _, period = settings.API_RATE_LIMIT.partition("/")
    limit = RateLimitItemPerSecond(int(count), PERIODS[period[0]])
    window = (limit, settings.RATELIMIT_NAMESPACE, "api", ident)
    if rate_limiter().hit(*window):
        return None
    return max(0.0, rate_limiter().get_window_stats(*window).reset_time - time.time())


class ApiKeyRateThrottle(BaseThrottle):
    """The REST API's: API_RATE_LIMIT per API key; signed-in browser sessions are counted per user."""

    def allow_request(self, request, view) -> bool:
        self.refused_for = api_rate_refusal(_ident(request))
        return self.refused_for is None

    def wait(self) -> float | None:
        return self.refused_for


def _ident(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.prefix}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{client_limit_key(request)}"
