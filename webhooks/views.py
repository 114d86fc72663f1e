"""The customer's webhook page (linked from the API page) and the endpoint where an upstream panel's
webhooks arrive. Thin: each calls one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from storefront.forms import put_errors
from webhooks.forms import EndpointForm
from webhooks.selectors import LOG_ROWS, deliveries_of, endpoint_of
from webhooks.services import endpoint_remove, endpoint_rotate, endpoint_set, send_test_event
from webhooks.upstream import WebhookRefused, upstream_receive


@never_cache
@login_required
def webhook_settings(request):
    endpoint = endpoint_of(request.user)
    form = EndpointForm(initial={"url": endpoint.url} if endpoint else None)
    new_secret = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "save":
            form = EndpointForm(request.POST)
            if form.is_valid():
                try:
                    endpoint, new_secret = endpoint_set(
                        user=request.user, url=form.cleaned_data["url"], actor=request.user
                    )
                except ValidationError as error:
                    put_errors(form, error)
                else:
                    messages.success(request, _("Webhook URL saved."))
        elif endpoint is not None and action == "rotate":
            new_secret = endpoint_rotate(user=request.user, actor=request.user)
            messages.success(request, _("New signing secret made: the old one no longer signs anything."))
        elif endpoint is not None and action == "remove":
            endpoint_remove(user=request.user, actor=request.user)
            messages.success(request, _("Webhook removed."))
            return redirect("webhooks:settings")
        elif endpoint is not None and action == "test":
            send_test_event(user=request.user)
            messages.success(request, _("Test event queued: it shows in the log below once sent."))
            return redirect("webhooks:settings")
    return render(
        request,
        "webhooks/settings.html",
        {
            "form": form,
            "endpoint": endpoint,
            "new_secret": new_secret,
            "deliveries": deliveries_of(request.user)[:LOG_ROWS] if endpoint else [],
        },
    )


@csrf_exempt
@require_POST
def upstream_webhook(request, provider_id: int):
    """A signed webhook from a provider that is another panel of this software."""
    try:
        upstream_receive(provider_id=provider_id, body=request.body, headers=dict(request.headers))
    except WebhookRefused as refused:
        return HttpResponse(str(refused), status=400, content_type="text/plain")
    return HttpResponse(status=204)
