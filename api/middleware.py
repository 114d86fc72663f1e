"""API v2 answered before the website's middleware, which it does not use.

An API v2 call carries its key in the call: no session, cookie, CSRF token, signed-in user, two-factor step,
htmx, page language, customer time zone or login lockout applies to it, and its answer is JSON, which needs
no Content-Security-Policy or frame options. Those middlewares cost a bare view two thirds of its time; this
one, placed after SecurityMiddleware (HTTPS redirect, HSTS, nosniff), answers ``/api/v2`` itself, through
CommonMiddleware (allowed hosts, Content-Length) only.
"""

from django.conf import settings
from django.middleware.common import CommonMiddleware
from django.utils import timezone, translation

from api.v2 import api_v2

API_V2_PATHS = frozenset(
    {"/api/v2", "/api/v2/"}
)  # clients are configured with ".../api/v2", some add a slash


class ApiV2Middleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.answer = CommonMiddleware(api_v2)

    def __call__(self, request):
        if request.path_info not in API_V2_PATHS:
            return self.get_response(request)
        # A protocol: English and UTC whoever calls, whatever a page served before left active in this thread.
        translation.activate(settings.LANGUAGE_CODE)
        timezone.deactivate()
        return self.answer(request)
