"""Storefront pages. Thin: each reads through a selector or writes through one service."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from api.models import ApiKey, ApiRequest
from api.services import api_key_issue, api_keys_revoke
from api.v2_actions import MULTI_LIMIT
from orders.order_types import ORDER_TYPES

REQUEST_LOG_ROWS = 50


def home(request):
    return render(request, "storefront/home.html")


def api_docs(request):
    """API v2 for this panel's own address, with examples: what a reseller needs to connect."""
    return render(
        request,
        "storefront/api_docs.html",
        {
            "endpoint": request.build_absolute_uri("/api/v2"),
            "rest_docs": reverse("api:docs"),
            "order_types": [(name, kind.required) for name, kind in ORDER_TYPES.items()],
            "multi_limit": MULTI_LIMIT,
            "currency": settings.PANEL_CURRENCY,
            "rate_limit": settings.API_RATE_LIMIT,
        },
    )


@never_cache  # the new key is shown once and must not stay in any cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    new_key = None
    if request.method == "POST":
        if "revoke" in request.POST:
            api_keys_revoke(ApiKey.objects.filter(user=request.user))
            messages.success(request, "Your API key was revoked: calls made with it are refused from now on.")
        else:
            _, new_key = api_key_issue(user=request.user)
    return render(
        request,
        "storefront/api_keys.html",
        {
            "new_key": new_key,
            "key": ApiKey.objects.filter(user=request.user, revoked_at__isnull=True).first(),
            "requests": ApiRequest.objects.filter(user=request.user).select_related("api_key")[
                :REQUEST_LOG_ROWS
            ],
            "endpoint": request.build_absolute_uri("/api/v2"),
        },
    )
