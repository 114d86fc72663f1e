"""The one-click unsubscribe. GET shows a confirmation page with a button (mail scanners that open links
must not unsubscribe anyone); POST — the button, or a mail client's RFC 8058 one-click POST
(``List-Unsubscribe=One-Click``) — turns the kind off. The signed token is the authority, so this one view
is exempt from CSRF: a forged or expired token does nothing."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications.customers import unsubscribe
from notifications.kinds import CustomerKind
from notifications.unsubscribe import unsubscribe_read


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request, token):
    found = unsubscribe_read(token)
    if found is None:
        return render(request, "notifications/unsubscribe.html", {"valid": False}, status=400)
    user, kind = found
    done = request.method == "POST"
    if done:
        unsubscribe(user=user, kind=kind)
    context = {"valid": True, "done": done, "kind_label": CustomerKind(kind).label, "email": user.email}
    return render(request, "notifications/unsubscribe.html", context)
