"""The visitor's address, the one rule for login lockouts, API throttling and request logs.

Behind ``TRUSTED_PROXY_COUNT`` proxies, ``REMOTE_ADDR`` is the nearest proxy's address and each proxy has
appended the address it saw to ``X-Forwarded-For``; the client is the N-th entry from the right. Entries
further left were written by the client and could say anything, so they never choose the address.
(django-ipware counts proxies differently — it expects the proxies' own addresses in the header — so with
one proxy it would pick a client-written entry.)
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < trusted:
        return remote  # the request did not come through all the proxies
    candidate = forwarded[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
