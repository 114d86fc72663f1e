"""The visitor's address, the one rule for login lockouts, API throttling and request logs.

Behind ``TRUSTED_PROXY_COUNT`` proxies, ``REMOTE_ADDR`` is the nearest proxy's address and each proxy has
appended the address it saw to ``X-Forwarded-For``; the client is the N-th entry from the right. Entries
further left were written by the client and could say anything, so they never choose the address.
(django-ipware counts proxies differently — it expects the proxies' own addresses in the header — so with
one proxy it would pick a client-written entry.)
"""

import ipaddress

from django.conf import settings

# One IPv6 subscriber (a home line, a rented server) gets a whole /64: limits count per network, not address.
IPV6_LIMITED_PREFIX = 64


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < trusted:
        return remote  # the request did not come through all the proxies
    return _address(forwarded[-trusted]) or remote


def client_limit_key(request) -> str | None:
    """The address that login lockouts and throttles count: the client's, or for IPv6 its /64 network's first
    address — else a single attacker, holding 2**64 addresses, would never be locked out or throttled."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.7 is 192.0.2.7 (dual-stack listeners)
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/{IPV6_LIMITED_PREFIX}", strict=False).network_address)


def _address(entry: str) -> str | None:
    """An entry as proxies write it: bare, or with the client's port (``192.0.2.7:51234``,
    ``[2001:db8::7]:51234``, as some load balancers do). ``None`` when it is no address."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None
