"""Every order type of DOMAIN §2: which fields it takes, how they are checked, how much it costs.

``order_spec(service, data, price)`` turns what a customer typed (website, API or admin) into the
exact fields to send upstream, the number of units, and the charge — or raises a ``ValidationError``
with one clear message per field.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.money import MONEY_FIELD, to_money
from panels.normalize import ServiceType
from reseller.numbers import DIGITS_ONLY, digits_written_oddly, whole_number

SUBSCRIPTION_DELAYS = (
    0,
    5,
    10,
    15,
    20,
    30,
    40,
    50,
    60,
    90,
    120,
    150,
    180,
    210,
    240,
    270,
    300,
    360,
    420,
    480,
    540,
    600,
)
MAX_TEXT = 20_000
MAX_RUNS = 1000
MAX_INTERVAL_MINUTES = 7 * 24 * 60
MAX_POSTS = 100_000
MAX_NUMBER_DIGITS = 12  # no count typed into an order is longer
# What the order's columns hold: a larger charge or count is refused as a field error, never a database error.
MAX_CHARGE = Decimal(10) ** (MONEY_FIELD["max_digits"] - MONEY_FIELD["decimal_places"]) - 1
MAX_UNITS = 2**63 - 1


@dataclass(frozen=True)
class OrderType:
    required: tuple[str, ...]
    counted_by: str | None = "quantity"  # "quantity", a one-per-line field, or None for a package
    package: bool = False


ORDER_TYPES: dict[ServiceType, OrderType] = {
    ServiceType.DEFAULT: OrderType(("link", "quantity")),
    ServiceType.PACKAGE: OrderType(("link",), counted_by=None, package=True),
    ServiceType.CUSTOM_COMMENTS: OrderType(("link", "comments"), counted_by="comments"),
    ServiceType.CUSTOM_COMMENTS_PACKAGE: OrderType(("link", "comments"), counted_by=None, package=True),
    ServiceType.SUBSCRIPTIONS: OrderType(("username", "min", "max", "delay"), counted_by=None),
    ServiceType.COMMENT_LIKES: OrderType(("link", "quantity", "username")),
    ServiceType.COMMENT_REPLIES: OrderType(("link", "username", "comments"), counted_by="comments"),
    ServiceType.INVITES_FROM_GROUPS: OrderType(("link", "quantity", "groups")),
    ServiceType.MENTIONS_USER_FOLLOWERS: OrderType(("link", "quantity", "username")),
    ServiceType.POLL: OrderType(("link", "quantity", "answer_number")),
    ServiceType.MENTIONS: OrderType(("link", "quantity", "usernames")),
    ServiceType.MENTIONS_WITH_HASHTAGS: OrderType(("link", "quantity", "usernames", "hashtags")),
    ServiceType.MENTIONS_CUSTOM_LIST: OrderType(("link", "usernames"), counted_by="usernames"),
    ServiceType.MENTIONS_HASHTAG: OrderType(("link", "quantity", "hashtag")),
    ServiceType.MENTIONS_MEDIA_LIKERS: OrderType(("link", "quantity", "media")),
    ServiceType.SEO: OrderType(("link", "quantity", "keywords")),
}
LINE_FIELDS = {"comments", "usernames", "groups", "hashtags", "keywords"}
URL_FIELDS = {"link", "media"}
NUMBER_FIELDS = {"quantity", "runs", "interval", "answer_number", "min", "max", "posts", "old_posts", "delay"}
ALL_FIELDS = (
    "link",
    "quantity",
    "runs",
    "interval",
    "comments",
    "username",
    "usernames",
    "hashtags",
    "hashtag",
    "media",
    "groups",
    "keywords",
    "answer_number",
    "min",
    "max",
    "posts",
    "old_posts",
    "delay",
    "expiry",
)


@dataclass(frozen=True)
class OrderSpec:
    fields: dict[str, str]  # exactly what is sent upstream with action=add
    units: int  # what the charge is for: total quantity (runs x quantity), lines, packages, or posts x max
    charge: Decimal
    link: str
    runs: int | None = None


def lines(text: str) -> list[str]:
    """The one definition of a line, for the charge and for what is sent upstream.

    Split on every line boundary anyone might split on (``str.splitlines``: LF, CR, VT, FF, FS, GS, RS,
    NEL, U+2028, U+2029), each line stripped of surrounding white space, and lines with nothing visible
    (only spaces or invisible format characters such as U+200B) dropped. The order stores and sends these
    lines joined by LF, so a provider, however it splits, counts exactly the lines that were charged.
    """
    stripped = (line.strip() for line in (text or "").splitlines())
    return [line for line in stripped if any(_visible(char) for char in line)]


def _visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) not in {"Cf", "Cc", "Zs", "Zl", "Zp"}


def order_spec(*, service, data: dict, price: Decimal) -> OrderSpec:
    """Validate ``data`` for ``service``'s type; the charge at ``price`` (per 1000, or per package)."""
    kind = ORDER_TYPES.get(service.type)
    if kind is None:
        raise ValidationError(
            {"service": _("Orders of type %(type)s are not supported.") % {"type": service.type}}
        )
    raw = {name: str(data.get(name, "") or "") for name in ALL_FIELDS}
    # Numbers are read as typed (whole_number decides what surrounds digits); text is stripped.
    values = {name: text if name in NUMBER_FIELDS else text.strip() for name, text in raw.items()}
    errors: dict[str, str] = {}
    for name in kind.required:
        if not values[name].strip():
            errors[name] = _("This field is required.")
    if errors:
        raise ValidationError(errors)

    fields = {name: values[name] for name in kind.required}
    for name in fields:
        if name in URL_FIELDS and (message := _url_error(values[name])):
            errors[name] = ValidationError(message, code="bad_link")
        elif name in LINE_FIELDS:
            fields[name] = "\n".join(lines(values[name]))
        elif len(values[name]) > MAX_TEXT:
            errors[name] = _("This is too long.")

    if service.type == ServiceType.SUBSCRIPTIONS:
        return _subscription(service, values, fields, errors, price)
    if service.type == "Poll":
        answer = _number(
            values, errors, "answer_number", _("Give the number of the answer (1, 2, 3, …)."), low=1
        )
        if answer is not None:
            fields["answer_number"] = str(answer)

    runs = None
    if kind.package:
        units = 1
    elif kind.counted_by == "quantity":
        units = _quantity(values, service, errors, "quantity")
        runs = _drip_feed(service, values, fields, errors)
        if units is not None:
            fields["quantity"] = str(units)
            units *= runs or 1
    else:
        count = len(lines(values[kind.counted_by]))
        units = _within(count, service, errors, kind.counted_by, lines=True)
    if errors:
        raise ValidationError(errors)
    charge = to_money(price if kind.package else price * units / 1000)
    _chargeable(units, charge, kind.counted_by or "link")
    return OrderSpec(fields=fields, units=units, charge=charge, link=values["link"], runs=runs)


def _chargeable(units: int, charge: Decimal, field: str) -> None:
    """The charge must be above zero and fit the order's columns: checked before anything is written."""
    if charge <= 0:
        raise ValidationError({field: _("This order is too small to be charged; order more.")})
    if units > MAX_UNITS or charge > MAX_CHARGE:
        raise ValidationError(
            {
                field: _("This order is too large: one order costs at most %(max)s; order less.")
                % {"max": MAX_CHARGE}
            }
        )


def _subscription(service, values, fields, errors, price) -> OrderSpec:
    low = _quantity(values, service, errors, "min")
    high = _quantity(values, service, errors, "max")
    if low is not None and high is not None and low > high:
        errors["max"] = _("Max must be at least min.")
    delays = ", ".join(map(str, SUBSCRIPTION_DELAYS))
    wrong_delay = _("Delay must be one of %(delays)s minutes.") % {"delays": delays}
    delay = _number(values, errors, "delay", wrong_delay)
    if delay is not None and delay not in SUBSCRIPTION_DELAYS:
        errors["delay"] = wrong_delay
    # Unlimited posts would be an unbounded charge on a prepaid balance: a default number is bought.
    posts = settings.SUBSCRIPTION_DEFAULT_POSTS
    if values["posts"].strip():
        wrong = _("Posts must be a whole number from 1 to %(max)s.") % {"max": MAX_POSTS}
        posts = _number(values, errors, "posts", wrong, low=1, high=MAX_POSTS)
    old_posts = 0
    if values["old_posts"].strip():
        wrong = _("Old posts must be a whole number from 0 to %(max)s.") % {"max": MAX_POSTS}
        old_posts = _number(values, errors, "old_posts", wrong, high=MAX_POSTS)
    if values["expiry"]:
        expiry = _date(values["expiry"])
        if expiry is None:
            errors["expiry"] = _("Expiry must be a date written d/m/Y, e.g. 31/12/2026.")
        elif expiry <= date.today():  # noqa: DTZ011 - compared as a calendar date
            errors["expiry"] = _("Expiry must be in the future.")
        else:
            fields["expiry"] = expiry.strftime("%d/%m/%Y")
    if errors:
        raise ValidationError(errors)
    fields.update({"min": str(low), "max": str(high), "delay": str(delay), "posts": str(posts)})
    if old_posts:
        fields["old_posts"] = str(old_posts)
    units = high * (posts + old_posts)
    charge = to_money(price * units / 1000)
    _chargeable(units, charge, "max")
    return OrderSpec(fields=fields, units=units, charge=charge, link=values["username"])


def _date(text: str) -> date | None:
    """d/m/Y in ASCII digits (``strptime`` reads other scripts' digits too)."""
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text)
    if match is None:
        return None
    day, month, year = map(int, match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def dripfeed_allowed(service) -> bool:
    """Whether ``service`` (a storefront service) accepts runs and interval: the one answer the order
    validation, the storefront form and both APIs use.

    The operator's per-service switch wins; else the provider's explicit flag; else, since the flag is
    missing from the API v2 documents (not stated, not "no"), Default services accept drip-feed as those
    documents say, unless the operator set the provider's drip-feed to "never".
    """
    kind = ORDER_TYPES.get(service.type)
    if kind is None or kind.package or kind.counted_by != "quantity":
        return False  # runs multiply a quantity: no other type has one to multiply
    if service.dripfeed:  # "on" / "off"; "" inherits
        return service.dripfeed == "on"
    upstream = service.provider_service
    if upstream.dripfeed is not None:
        return upstream.dripfeed
    return service.type == ServiceType.DEFAULT and upstream.provider.dripfeed != "never"


def _drip_feed(service, values, fields, errors) -> int | None:
    if not values["runs"].strip() and not values["interval"].strip():
        return None
    if not dripfeed_allowed(service):
        errors["runs"] = _("This service cannot be drip-fed.")
        return None
    wrong_runs = _("Runs must be a whole number from 2 to %(max)s.") % {"max": MAX_RUNS}
    runs = _number(values, errors, "runs", wrong_runs, low=2, high=MAX_RUNS)
    wrong_interval = _("Interval must be a whole number of minutes from 1 to %(max)s.") % {
        "max": MAX_INTERVAL_MINUTES
    }
    interval = _number(values, errors, "interval", wrong_interval, low=1, high=MAX_INTERVAL_MINUTES)
    if runs is None or interval is None:
        return None
    fields.update({"runs": str(runs), "interval": str(interval)})
    return runs


def _number(values, errors, name: str, message: str, *, low: int = 0, high: int | None = None) -> int | None:
    """The one reading of a numeric field: ASCII digits only, within ``low``…``high``; else ``message``
    (or, for digits of another script, how to write them) as the field's error."""
    number = whole_number(values[name], max_digits=MAX_NUMBER_DIGITS)
    if number is None and digits_written_oddly(values[name]):
        errors[name] = DIGITS_ONLY
    elif number is None or number < low or (high is not None and number > high):
        errors[name] = message
    else:
        return number
    return None


def _quantity(values, service, errors, name: str) -> int | None:
    number = _number(values, errors, name, _("Enter a whole number."))
    if number is None:
        return None
    return _within(number, service, errors, name)


def _within(number: int, service, errors, name: str, *, lines: bool = False) -> int | None:
    # The codes let API v2 answer with the canonical "Quantity less than minimal N" messages.
    low, high = service.min_quantity, service.max_quantity
    if number < low:
        message = (
            ngettext("The minimum is %(limit)s line.", "The minimum is %(limit)s lines.", low)
            if lines
            else _("The minimum is %(limit)s.")
        )
        errors[name] = ValidationError(message, code="min_quantity", params={"limit": low})
    elif number > high:
        message = (
            ngettext("The maximum is %(limit)s line.", "The maximum is %(limit)s lines.", high)
            if lines
            else _("The maximum is %(limit)s.")
        )
        errors[name] = ValidationError(message, code="max_quantity", params={"limit": high})
    else:
        return number
    return None


def _url_error(value: str) -> str | None:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return _("Enter a full link starting with http:// or https://.")
    return None if len(value) <= 2000 else _("This link is too long.")
