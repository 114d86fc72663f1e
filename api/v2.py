"""API v2 served to downstream resellers: the protocol every SMM panel speaks (DOMAIN §1).

One endpoint; ``key`` and ``action`` plus the action's fields, sent as a form (the norm), a JSON object or a
query string; the key may also come in an ``Authorization: Bearer`` or ``X-Api-Key`` header. Every failure
is ``{"error": "…"}`` with HTTP 200 — except rate limiting (HTTP 429, which clients read as "nothing was
processed, try later"). What each action does lives in ``api.v2_actions``.

A plain Django view, not DRF's: one endpoint, one answer type and no browsable page, while DRF's request,
negotiation, parser and renderer machinery cost as much as a whole ``status`` call of 100 ids.
"""

import json
import time

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from rest_framework.utils.encoders import JSONEncoder

from api.authentication import header_key
from api.models import ApiKey, ApiRequest
from api.parsers import RequestTooLarge, TooManyFields, as_api_exception
from api.services import KeyRefused, api_key_check, api_request_log
from api.throttling import api_rate_refusal
from api.v2_actions import ACTIONS, KNOWN_FIELDS, Refusal
from reseller.client_ip import client_ip
from reseller.json_input import JsonRefused, json_parse

METHODS = frozenset({"GET", "HEAD", "POST"})


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
    raise Refusal("Incorrect request")  # an object, a file


def v2_params(request) -> dict[str, str]:
    """The call's fields — query string, then the body over it — checked once and kept on the request."""
    if (params := getattr(request, "_v2_params", None)) is None:
        params = request._v2_params = _read_params(request)
    return params


def _read_params(request) -> dict[str, str]:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal("Incorrect request") from None
    if length > settings.API_MAX_BODY_BYTES:
        raise Refusal(f"Request too large: {settings.API_MAX_BODY_BYTES} bytes at most")
    params = {}
    for name, value in [*request.GET.items(), *_body_fields(request, length)]:
        if not isinstance(name, str) or name not in KNOWN_FIELDS:
            raise Refusal(f"Unknown field: {str(name)[:40]}")
        text = _text(value)
        if "\x00" in text:
            raise Refusal(f"Incorrect request: a NUL character in {name}")
        params[name] = text
    return params


def _body_fields(request, length: int) -> list[tuple]:
    """The body's fields: a form (any method), a multipart form (POST) or a JSON object; none when empty."""
    if not length:
        return []
    media = request.content_type.lower()
    if media == "application/x-www-form-urlencoded":
        return list(QueryDict(request.body, encoding=request.encoding).items())
    if media == "multipart/form-data" and request.method == "POST":
        try:
            return [*request.POST.items(), *request.FILES.items()]  # a file is refused by _text
        except MultiPartParserError:
            raise Refusal("Incorrect request") from None
    if media == "application/json":
        try:
            data = json_parse(request.body)  # the bytes: json detects UTF-8/16/32 itself
        except JsonRefused:
            raise Refusal("Incorrect request") from None
        if not isinstance(data, dict):
            raise Refusal("Incorrect request")
        return list(data.items())
    raise Refusal("Incorrect request")  # XML, plain text…


def _refusal_text(error: Exception) -> str:
    """Django's refusals of a request's data (raised wherever the body or query string is first read)."""
    error = as_api_exception(error)
    if isinstance(error, RequestTooLarge | TooManyFields):
        return str(error.detail)
    return "Incorrect request"  # too many files, a malformed multipart body


def _caller(request) -> ApiKey:
    """The live key of the call, from a header or the ``key`` field. Raises ``KeyRefused`` or ``Refusal``."""
    raw = header_key(request) or v2_params(request).get("key")
    if not raw:
        raise KeyRefused("Invalid API key")
    return api_key_check(raw)


def _answer(request, key: ApiKey) -> tuple[object, int, dict]:
    """The answer, HTTP status and headers of an authenticated call."""
    if (wait := api_rate_refusal(f"key:{key.prefix}")) is not None:
        wait = max(1, round(wait))
        return {"error": f"Too many requests: try again in {wait} seconds"}, 429, {"Retry-After": str(wait)}
    if request.method not in METHODS:
        raise Refusal("Incorrect request")
    params = v2_params(request)
    action = ACTIONS.get(params.get("action", ""))
    if action is None:
        raise Refusal("Incorrect request")
    return action(key.user, params), 200, {}


@csrf_exempt
def api_v2(request) -> HttpResponse:
    """The endpoint. Every call made with a live key is logged, whatever its outcome; a refusal of the key
    itself (or of a body too broken to find it in) is answered and not logged."""
    started = time.monotonic()
    key = None
    try:
        key = _caller(request)
        data, status, headers = _answer(request, key)
    except (KeyRefused, Refusal) as refusal:
        data, status, headers = {"error": str(getattr(refusal, "detail", refusal))}, 200, {}
    except (SuspiciousOperation, MultiPartParserError) as error:
        data, status, headers = {"error": _refusal_text(error)}, 200, {}
    response = HttpResponse(_json(data), content_type="application/json", status=status, headers=headers)
    if key is not None:
        api_request_log(
            key=key,
            interface=ApiRequest.Interface.V2,
            action=getattr(request, "_v2_params", {}).get("action", "") or "(none)",
            http_status=status,
            error=_error_of(data),
            ip=client_ip(request),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
    return response


def _error_of(data) -> str:
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else ""  # a status of many ids may answer for an id "error"


def _json(data) -> bytes:
    """As DRF's JSONRenderer wrote it: compact UTF-8, Decimals as strings, no NaN, U+2028/9 escaped (for
    clients that read the answer as JavaScript)."""
    text = json.dumps(data, cls=JSONEncoder, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
