"""Turning what real providers send into clean values (DOMAIN §4).

Providers send numbers as strings or numbers, flags as ``true``/``"1"``/missing, ids as int or
opaque strings, and a dozen spellings of each status. Everything here is pure and total: a value
that cannot be read becomes ``None`` (or raises :class:`BadValue` where the caller must know).
"""

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import urlsplit


class BadValue(ValueError):
    """A provider value that cannot be read as what it should be."""


_THOUSANDS = re.compile(r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def to_decimal(value: object) -> Decimal | None:
    """Money and rates: ``"0.90"``, ``0.9``, ``"1,234.5"`` → Decimal; never via float arithmetic."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    text = str(value).strip()  # str() of a JSON float is its shortest repr
    # Decimal() also reads other scripts' digits and "1_000": a figure money depends on is never a guess.
    if not text or not text.isascii() or "_" in text:
        return None
    if "," in text:  # thousands ("1,234.5") only: "1,5" is a decimal comma, read as 15 it costs 10 times more
        if not _THOUSANDS.fullmatch(text):
            return None
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_int(value: object) -> int | None:
    """Counts: ``"3572"``, ``3572``, ``"3572.0"``, ``""`` or ``None`` → int or None."""
    number = to_decimal(value)
    # No count reaches 10^18; int() of "1e999999999" would build a billion-digit number.
    if number is None or number.copy_abs() >= 10**18:
        return None
    return int(number.to_integral_value())


def to_flag(value: object) -> bool:
    """Flags come as true/false, "1"/"0", "yes", or are missing (missing means false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on"}
    return False


def stated_flag(value: object) -> bool | None:
    """A flag whose absence says nothing (``dripfeed``: not in the API v2 documents): missing, null or
    blank is None — not stated — and anything else reads as ``to_flag`` does."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return to_flag(value)


MAX_ID_CHARS = 64  # what the columns keeping providers' ids hold


def to_id(value: object) -> str | None:
    """Ids are int or opaque strings (``"ord_01HG…"``): always kept as a string. What cannot be sent back
    as an id — longer than the columns, with spaces, commas (multi calls join ids with them) or control
    characters, a float that is no exact whole number — is not one."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float):
        if not value.is_integer() or abs(value) > 2**53:
            return None
        value = int(value)
    text = str(value).strip()
    unusable = not text.isprintable() or any(char.isspace() or char == "," for char in text)
    if unusable or len(text) > MAX_ID_CHARS:
        return None
    return text or None


class ServiceType(StrEnum):
    DEFAULT = "Default"
    PACKAGE = "Package"
    CUSTOM_COMMENTS = "Custom Comments"
    CUSTOM_COMMENTS_PACKAGE = "Custom Comments Package"
    SUBSCRIPTIONS = "Subscriptions"
    COMMENT_LIKES = "Comment Likes"
    COMMENT_REPLIES = "Comment Replies"
    INVITES_FROM_GROUPS = "Invites from Groups"
    MENTIONS_USER_FOLLOWERS = "Mentions User Followers"
    POLL = "Poll"
    MENTIONS = "Mentions"
    MENTIONS_WITH_HASHTAGS = "Mentions with Hashtags"
    MENTIONS_CUSTOM_LIST = "Mentions Custom List"
    MENTIONS_HASHTAG = "Mentions Hashtag"
    MENTIONS_MEDIA_LIKERS = "Mentions Media Likers"
    SEO = "SEO"


def _fold(text: str) -> str:
    """Case and punctuation folded away: ``In-Progress`` → ``inprogress``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


_SERVICE_TYPES = {_fold(member.value): member for member in ServiceType}


def service_type(value: object) -> str:
    """The canonical type name, or the provider's own text when the type is not one we know."""
    text = str(value or "").strip()
    if not text:
        return ServiceType.DEFAULT.value
    known = _SERVICE_TYPES.get(_fold(text))
    return known.value if known else text


class OrderStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    PARTIAL = "Partial"
    CANCELED = "Canceled"
    REFUNDED = "Refunded"
    FAILED = "Fail"
    # Subscriptions.
    ACTIVE = "Active"
    PAUSED = "Paused"
    EXPIRED = "Expired"
    # A spelling we have never seen: kept open, so it is polled again and never settled by guess.
    UNKNOWN = "Unknown"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_ORDER_STATUSES


_FINAL_ORDER_STATUSES = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.PARTIAL,
        OrderStatus.CANCELED,
        OrderStatus.REFUNDED,
        OrderStatus.FAILED,
        OrderStatus.EXPIRED,
    }
)

_ORDER_STATUS_SPELLINGS = {
    "pending": OrderStatus.PENDING,
    "awaiting": OrderStatus.PENDING,
    "inprogress": OrderStatus.IN_PROGRESS,
    "processing": OrderStatus.PROCESSING,
    "completed": OrderStatus.COMPLETED,
    "complete": OrderStatus.COMPLETED,
    "partial": OrderStatus.PARTIAL,
    "partiallycompleted": OrderStatus.PARTIAL,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "refunded": OrderStatus.REFUNDED,
    "fail": OrderStatus.FAILED,
    "failed": OrderStatus.FAILED,
    "active": OrderStatus.ACTIVE,
    "paused": OrderStatus.PAUSED,
    "expired": OrderStatus.EXPIRED,
    # "Error" is used by some panels for a transient hiccup of their own upstream: not final.
}


def order_status(value: object) -> OrderStatus:
    return _ORDER_STATUS_SPELLINGS.get(_fold(str(value or "")), OrderStatus.UNKNOWN)


class RefillStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    REJECTED = "Rejected"
    NOT_FOUND = "Refill not found"
    UNKNOWN = "Unknown"

    @property
    def is_final(self) -> bool:
        return self in {RefillStatus.COMPLETED, RefillStatus.REJECTED, RefillStatus.NOT_FOUND}


_REFILL_STATUS_SPELLINGS = {
    "pending": RefillStatus.PENDING,
    "inprogress": RefillStatus.IN_PROGRESS,
    "processing": RefillStatus.IN_PROGRESS,
    "completed": RefillStatus.COMPLETED,
    "complete": RefillStatus.COMPLETED,
    "rejected": RefillStatus.REJECTED,
    "canceled": RefillStatus.REJECTED,
    "cancelled": RefillStatus.REJECTED,
    "refillnotfound": RefillStatus.NOT_FOUND,
}


def refill_status(value: object) -> RefillStatus:
    return _REFILL_STATUS_SPELLINGS.get(_fold(str(value or "")), RefillStatus.UNKNOWN)


def normalize_api_url(url: str) -> str:
    """Operators paste ``https://p.example``, ``…/api/v2`` or ``…/api/v2/``: one canonical endpoint.

    A bare host (or ``/api``) gets ``/api/v2``; any other explicit path (``/api.php``) is kept.
    """
    url = url.strip()
    head, sep, query = url.partition("?")
    head = head.rstrip("/")
    scheme, _, rest = head.partition("://")
    if not rest:
        raise BadValue("The API URL must start with http:// or https://")
    if scheme.lower() not in {"http", "https"}:
        raise BadValue("The API URL must start with http:// or https://")
    host, _, path = rest.partition("/")
    if not host:
        raise BadValue("The API URL has no host name")
    if "@" in host:  # shown on every provider page and in the call log: no secret belongs in it
        raise BadValue("Put no user name or password in the API URL: the key goes in its own field")
    if not url.isprintable() or any(char.isspace() for char in url):
        raise BadValue("The API URL holds spaces or control characters")
    try:
        urlsplit(f"{scheme}://{host}").port  # noqa: B018 - reading it raises for a port beyond 65535 or "abc"
    except ValueError:
        raise BadValue("The API URL's port is not a port number") from None
    path = "/" + path if path else ""
    if path.lower() in {"", "/api"}:
        path = "/api/v2"
    return f"{scheme.lower()}://{host}{path}" + (sep + query if query else "")
