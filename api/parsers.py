"""Reading what callers send to both APIs, so that no body or query string can cause a server error.

One JSON parser for API v2 and REST (depth bounded, no NaN or 1e999, no text a database cannot store), and
Django's own refusals of oversized bodies and too many fields — raised wherever ``request.POST``, ``.GET``
or ``.body`` is first read, before any view code — turned into the APIs' errors instead of an HTML page.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from reseller.json_input import JsonRefused, json_parse


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_parse(stream.read())  # the bytes: json detects UTF-8/16/32 itself
        except JsonRefused as refused:
            raise ParseError(f"JSON parse error - {refused}") from None


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."


class TooManyFields(ParseError):
    default_detail = "Too many fields."


def as_api_exception(exc: Exception) -> Exception:
    """Django's refusals of a request's data as the API's own errors; anything else unchanged."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            f"Request body too large: {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes at most."
        )
    if isinstance(exc, TooManyFieldsSent):
        return TooManyFields(f"Too many fields: {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} at most.")
    if isinstance(exc, SuspiciousOperation):  # too many files, a malformed multipart body
        return ParseError("Malformed request.")
    return exc


def exception_handler(exc, context):
    """DRF's handler (the REST API's error shape), for Django's refusals of the request's data too."""
    # Imported here: DRF's views read the settings, which name this module's parser (an import cycle).
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(as_api_exception(exc), context)
