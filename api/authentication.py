"""Who is calling: the customer's API key, from a header (REST and API v2) or the body (API v2)."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from api.services import KeyRefused, api_key_check


def header_key(request) -> str | None:
    """``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.META.get("HTTP_X_API_KEY") or None


class ApiKeyAuthentication(BaseAuthentication):
    """The REST API's: the key from a header (``header_key``)."""

    def authenticate(self, request):
        raw = header_key(request)
        if raw is None:
            return None
        try:
            key = api_key_check(raw)
        except KeyRefused as refused:
            raise AuthenticationFailed(str(refused)) from None
        return key.user, key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
