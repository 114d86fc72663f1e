"""Per-key rate limits for both APIs (DRF's throttle, counted in the shared cache: Redis in production)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiKey
from reseller.client_ip import client_limit_key


class ApiKeyRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT per API key; signed-in browser sessions are counted per user."""

    scope = "api"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT  # read per request, so a changed setting applies at once

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{client_limit_key(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
