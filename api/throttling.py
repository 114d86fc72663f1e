"""Per-key rate limits for both APIs: a moving window shared by every process (``reseller.ratelimits``: Redis
in production), one round trip a call. DRF's own throttle read and wrote back the list of every call's time in
the window: two round trips, and up to API_RATE_LIMIT timestamps unpickled and pickled again on each call."""

import time

from django.conf import settings
from limits import RateLimitItemPerSecond
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from api.models import ApiKey
from reseller.client_ip import client_limit_key
from reseller.ratelimits import rate_limiter


class ApiKeyRateThrottle(BaseThrottle):
    """API_RATE_LIMIT per API key; signed-in browser sessions are counted per user."""

    def allow_request(self, request, view) -> bool:
        # Read per request, so a changed setting applies at once; DRF's spelling ("1200/min", "10/s").
        count, seconds = SimpleRateThrottle.parse_rate(self, settings.API_RATE_LIMIT)
        limit = RateLimitItemPerSecond(count, seconds)
        self.window = (limit, settings.RATELIMIT_NAMESPACE, "api", _ident(request))
        return rate_limiter().hit(*self.window)

    def wait(self) -> float:
        return max(0.0, rate_limiter().get_window_stats(*self.window).reset_time - time.time())


def _ident(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.prefix}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{client_limit_key(request)}"
