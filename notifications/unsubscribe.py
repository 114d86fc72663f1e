"""One-click unsubscribe links: a signed token naming the customer and the kind of mail, so the link works
without logging in and nobody can make one for somebody else. Links expire after
``UNSUBSCRIBE_LINK_DAYS``; the settings page turns any kind off or on again at any time."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from notifications.kinds import CustomerKind

SALT = "notifications.unsubscribe"


def unsubscribe_token(*, user, kind: str) -> str:
    return signing.dumps({"u": user.pk, "k": kind}, salt=SALT, compress=True)


def unsubscribe_url(*, user, kind: str) -> str:
    """The absolute link, or "" when ``PANEL_URL`` is not set (a worker has no request to take it from)."""
    if not settings.PANEL_URL:
        return ""
    path = reverse("notifications:unsubscribe", args=[unsubscribe_token(user=user, kind=kind)])
    return f"{settings.PANEL_URL}{path}"


def unsubscribe_read(token: str):
    """``(user, kind)`` of a valid, unexpired token; None for a forged, tampered or expired one."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.UNSUBSCRIBE_LINK_DAYS * 24 * 3600)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or data.get("k") not in CustomerKind.values:
        return None
    user = get_user_model().objects.filter(pk=data.get("u")).first()
    return (user, data["k"]) if user is not None else None
