"""Every call made with an API key is written to that key's request log, whatever its outcome."""

import time

from rest_framework.exceptions import APIException

from api.models import ApiKey
from api.services import api_request_log
from reseller.client_ip import client_ip


class LoggedRequestsMixin:
    interface: str

    def initial(self, request, *args, **kwargs):
        self.started = time.monotonic()
        super().initial(request, *args, **kwargs)

    def log_action(self, request) -> str:
        return f"{request.method} {request.path}"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        try:
            key = request.auth
        except APIException:  # the request failed before it was authenticated
            key = None
        if isinstance(key, ApiKey):
            api_request_log(
                key=key,
                interface=self.interface,
                action=self.log_action(request),
                http_status=response.status_code,
                error=_error_of(response),
                ip=client_ip(request),
                duration_ms=round((time.monotonic() - getattr(self, "started", time.monotonic())) * 1000),
            )
        return response


def _error_of(response) -> str:
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error") or data.get("detail"), str):
        return data.get("error") or data.get("detail")
    return str(data) if response.status_code >= 400 else ""
