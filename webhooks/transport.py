"""Posting to a URL a customer typed, without letting it reach into our own network (SSRF).

The host is resolved at send time, *every* address it resolves to is checked, and the connection goes to the
checked address (``PinnedAdapter``): nothing resolves the name again, so a DNS answer that changes between the
check and the connection (rebinding) cannot reach a private address. TLS still checks the certificate against
the name, and the request carries the name as its Host header and SNI. Redirects are never followed.
``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` (tests, the demo) lifts the address checks, never the pinning.

No maintained library does this for ``requests``: ``advocate`` (the known one) was last released in 2020
and predates urllib3 2; the newer ones wrap httpx.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.utils.translation import gettext as _

from panels.deadline import CallDeadline, DeadlineAdapter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's flags leave out, or that carry another address inside: translation prefixes (NAT64, 6to4)
# can lead to an IPv4 address of ours.
_ALSO_REFUSED = [
    ipaddress.ip_network(net)
    for net in ("100.64.0.0/10", "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "64:ff9b::/96",
                "64:ff9b:1::/48", "2002::/16", "2001::/32")
]  # fmt: skip
EXCERPT_CHARACTERS = 200


class TargetRefused(Exception):
    """The URL may not be called: its scheme, or an address its host resolves to. Safe to show."""


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is no place to send a customer's webhook, or None when it is a public one."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    kinds = [
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        (
            "shared or translated",
            any(address in net for net in _ALSO_REFUSED if net.version == address.version),
        ),
        ("not public", not address.is_global),
    ]
    return next((f"a {kind} address" for kind, refused in kinds if refused), None)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (tests replace this to play a rebinding DNS server)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: IPAddress  # the checked address the connection goes to


def url_refusal(url: str) -> str | None:
    """What is wrong with ``url`` as a webhook URL before any address is looked up, or None."""
    if not url.isascii() or not url.isprintable() or any(char.isspace() for char in url):
        return _("The URL may hold no spaces or control characters; write an international name as xn--….")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("This is not a valid URL.")
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        return (
            _("The URL must start with https://.") if "http" not in allowed else _("Use http:// or https://.")
        )
    if not parts.hostname:
        return _("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        return _("The URL may not carry a user name or password.")
    if port == 0:
        return _("The URL's port is not valid.")
    return None


def target_check(url: str) -> Target:
    """The address to send ``url``'s request to: the host resolved now and every answer checked.
    Raises ``TargetRefused``."""
    if problem := url_refusal(url):
        raise TargetRefused(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(parts.hostname)]
    except ValueError:
        try:
            addresses = resolve(parts.hostname, port)
        except (OSError, UnicodeError):
            raise TargetRefused(f"The host {parts.hostname} could not be resolved.") from None
    if not addresses:
        raise TargetRefused(f"The host {parts.hostname} could not be resolved.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if reason := address_refusal(address):
                raise TargetRefused(f"The host {parts.hostname} resolves to {reason} ({address}).")
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, address=addresses[0])


class PinnedAdapter(DeadlineAdapter):
    """Connects to ``target.address`` whatever the URL's host resolves to by now, keeping the name for the
    Host header, SNI and the certificate check. Its connections obey the caller's ``CallDeadline``."""

    def __init__(self, target: Target, **kwargs):
        self.target = target
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if urlsplit(request.url).hostname != self.target.host:
            raise TargetRefused("The request is not for the checked host.")
        host_params = {**host_params, "host": str(self.target.address), "port": self.target.port}
        if self.target.scheme == "https":
            pool_kwargs = {
                **pool_kwargs,
                "server_hostname": self.target.host,
                "assert_hostname": self.target.host,
            }
        return host_params, pool_kwargs


@dataclass(frozen=True)
class PostResult:
    status_code: int
    excerpt: str


def safe_post(url: str, *, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST ``body`` to ``url`` under the SSRF rules and the time limits; ``TargetRefused`` before anything
    is sent; ``requests.RequestException``, urllib3's ``HTTPError`` or ``OSError`` (``TimeoutError``) when
    the receiver cannot be reached or does not finish answering in time."""
    target = target_check(url)
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would resolve the name itself
    adapter = PinnedAdapter(target, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    timeouts = (settings.WEBHOOKS_CONNECT_TIMEOUT, settings.WEBHOOKS_READ_TIMEOUT)
    with session, CallDeadline(settings.WEBHOOKS_TOTAL_TIMEOUT) as deadline:
        try:
            response = session.post(
                url,
                data=body,
                headers={**headers, "Host": host_header},
                timeout=timeouts,
                allow_redirects=False,
                stream=True,
            )
            with response:
                raw = response.raw.read(EXCERPT_CHARACTERS * 4, decode_content=True) or b""
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
            if deadline.expired:
                raise TimeoutError(f"No whole answer within {settings.WEBHOOKS_TOTAL_TIMEOUT} s.") from None
            raise
    excerpt = raw.decode("utf-8", errors="replace").replace("\x00", "")[:EXCERPT_CHARACTERS]
    return PostResult(status_code=response.status_code, excerpt=excerpt)
