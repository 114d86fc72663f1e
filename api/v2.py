"""API v2 served to downstream resellers: the protocol every SMM panel speaks (DOMAIN §1).

One endpoint; ``key`` and ``action`` plus the action's fields, sent as a form (the norm), a JSON object or a
query string; the key may also come in an ``Authorization: Bearer`` or ``X-Api-Key`` header. Every failure
is ``{"error": "…"}`` with HTTP 200 — except rate limiting (HTTP 429, which clients read as "nothing was
processed, try later"). What each action does lives in ``api.v2_actions``.
"""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import ApiKeyAuthentication
from api.models import ApiRequest
from api.parsers import RequestTooLarge, SafeJSONParser, TooManyFields, as_api_exception
from api.request_log import LoggedRequestsMixin
from api.throttling import ApiKeyRateThrottle
from api.v2_actions import ACTIONS, KNOWN_FIELDS, Refusal


class JsonOnly(DefaultContentNegotiation):
    """Answer JSON whatever the client's Accept header says, as every panel does."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _text(value) -> str:
    """One field's value as the text the form encoding would have carried."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, list) and all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        return ",".join(map(str, value))  # "orders": [1, 2, 3]
    raise Refusal("Incorrect request")


def v2_params(request) -> dict[str, str]:
    """The call's fields — query string, then the body over it — checked once and kept on the request."""
    if (params := getattr(request, "_v2_params", None)) is not None:
        return params
    try:
        request._v2_params = _read_params(request)
    except SuspiciousOperation as error:  # too many fields, a body larger than Content-Length said
        raise as_api_exception(error) from None
    return request._v2_params


def _read_params(request) -> dict[str, str]:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal("Incorrect request") from None
    if length > settings.API_MAX_BODY_BYTES:
        raise Refusal(f"Request too large: {settings.API_MAX_BODY_BYTES} bytes at most")
    data = request.data  # a QueryDict for forms, anything JSON can be for JSON
    if not isinstance(data, dict):
        raise Refusal("Incorrect request")
    items = [*request.query_params.items(), *data.items()]
    params = {}
    for name, value in items:
        if not isinstance(name, str) or name not in KNOWN_FIELDS:
            raise Refusal(f"Unknown field: {str(name)[:40]}")
        text = _text(value)
        if "\x00" in text:
            raise Refusal(f"Incorrect request: a NUL character in {name}")
        params[name] = text
    return params


class ApiV2KeyAuthentication(ApiKeyAuthentication):
    """API v2 also carries the key as the ``key`` field."""

    def raw_key(self, request) -> str | None:
        return super().raw_key(request) or v2_params(request).get("key") or None


@extend_schema(exclude=True)  # not REST: documented on the storefront's API page
class ApiV2View(LoggedRequestsMixin, APIView):
    interface = ApiRequest.Interface.V2
    authentication_classes = [ApiV2KeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [FormParser, MultiPartParser, SafeJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnly

    def get(self, request):
        params = v2_params(request)
        action = ACTIONS.get(params.get("action", ""))
        if action is None:
            raise Refusal("Incorrect request")
        return Response(action(request.user, params))

    post = get

    def log_action(self, request) -> str:
        return getattr(request, "_v2_params", {}).get("action", "") or "(none)"

    def handle_exception(self, exc):
        exc = as_api_exception(exc)
        if isinstance(exc, Throttled):
            wait = max(1, round(exc.wait or 1))
            return Response(
                {"error": f"Too many requests: try again in {wait} seconds"},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        if isinstance(exc, NotAuthenticated):
            message = "Invalid API key"
        elif isinstance(exc, AuthenticationFailed | Refusal | RequestTooLarge | TooManyFields):
            message = str(exc.detail)
        elif isinstance(exc, APIException):  # unparsable body, unsupported media type, wrong method
            message = "Incorrect request"
        else:
            return super().handle_exception(exc)
        return Response({"error": message})
