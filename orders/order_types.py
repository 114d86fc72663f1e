"""Every order type of DOMAIN §2: which fields it takes, how they are checked, how much it costs.

``order_spec(service, data, price)`` turns what a customer typed (website, API or admin) into the
exact fields to send upstream, the number of units, and the charge — or raises a ``ValidationError``
with one clear message per field.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from billing.money import to_money

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


@dataclass(frozen=True)
class OrderType:
    required: tuple[str, ...]
    counted_by: str | None = "quantity"  # "quantity", a one-per-line field, or None for a package
    package: bool = False


ORDER_TYPES: dict[str, OrderType] = {
    "Default": OrderType(("link", "quantity")),
    "Package": OrderType(("link",), counted_by=None, package=True),
    "Custom Comments": OrderType(("link", "comments"), counted_by="comments"),
    "Custom Comments Package": OrderType(("link", "comments"), counted_by=None, package=True),
    "Subscriptions": OrderType(("username", "min", "max", "delay"), counted_by=None),
    "Comment Likes": OrderType(("link", "quantity", "username")),
    "Comment Replies": OrderType(("link", "username", "comments"), counted_by="comments"),
    "Invites from Groups": OrderType(("link", "quantity", "groups")),
    "Mentions User Followers": OrderType(("link", "quantity", "username")),
    "Poll": OrderType(("link", "quantity", "answer_number")),
    "Mentions": OrderType(("link", "quantity", "usernames")),
    "Mentions with Hashtags": OrderType(("link", "quantity", "usernames", "hashtags")),
    "Mentions Custom List": OrderType(("link", "usernames"), counted_by="usernames"),
    "Mentions Hashtag": OrderType(("link", "quantity", "hashtag")),
    "Mentions Media Likers": OrderType(("link", "quantity", "media")),
    "SEO": OrderType(("link", "quantity", "keywords")),
}
LINE_FIELDS = {"comments", "usernames", "groups", "hashtags", "keywords"}
URL_FIELDS = {"link", "media"}
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
    return [line.strip() for line in re.split(r"\r?\n", text or "") if line.strip()]


def order_spec(*, service, data: dict, price: Decimal) -> OrderSpec:
    """Validate ``data`` for ``service``'s type; the charge at ``price`` (per 1000, or per package)."""
    kind = ORDER_TYPES.get(service.type)
    if kind is None:
        raise ValidationError({"service": f"Orders of type {service.type!r} are not supported."})
    values = {name: str(data.get(name, "") or "").strip() for name in ALL_FIELDS}
    errors: dict[str, str] = {}
    for name in kind.required:
        if not values[name]:
            errors[name] = "This field is required."
    if errors:
        raise ValidationError(errors)

    fields = {name: values[name] for name in kind.required}
    for name in fields:
        if name in URL_FIELDS and (message := _url_error(values[name])):
            errors[name] = ValidationError(message, code="bad_link")
        elif name in LINE_FIELDS:
            fields[name] = "\n".join(lines(values[name]))
        elif len(values[name]) > MAX_TEXT:
            errors[name] = "This is too long."

    if service.type == "Subscriptions":
        return _subscription(service, values, fields, errors, price)
    if (
        service.type == "Poll"
        and "answer_number" not in errors
        and _positive_int(values["answer_number"]) is None
    ):
        errors["answer_number"] = "Give the number of the answer (1, 2, 3, …)."

    runs = None
    if kind.package:
        units = 1
    elif kind.counted_by == "quantity":
        units = _quantity(values["quantity"], service, errors, "quantity")
        runs = _drip_feed(service, values, fields, errors)
        if units is not None:
            fields["quantity"] = str(units)
            units *= runs or 1
    else:
        count = len(lines(values[kind.counted_by]))
        units = _within(count, service, errors, kind.counted_by, noun="lines")
    if errors:
        raise ValidationError(errors)
    charge = to_money(price if kind.package else price * units / 1000)
    if charge <= 0:
        raise ValidationError({"quantity": "This order is too small to be charged; order more."})
    return OrderSpec(fields=fields, units=units, charge=charge, link=values["link"], runs=runs)


def _subscription(service, values, fields, errors, price) -> OrderSpec:
    low = _quantity(values["min"], service, errors, "min")
    high = _quantity(values["max"], service, errors, "max")
    if low is not None and high is not None and low > high:
        errors["max"] = "Max must be at least min."
    delay = _positive_int(values["delay"], allow_zero=True)
    if delay not in SUBSCRIPTION_DELAYS:
        errors["delay"] = f"Delay must be one of {', '.join(map(str, SUBSCRIPTION_DELAYS))} minutes."
    # Unlimited posts would be an unbounded charge on a prepaid balance: a default number is bought.
    posts = _positive_int(values["posts"]) if values["posts"] else settings.SUBSCRIPTION_DEFAULT_POSTS
    if posts is None:
        errors["posts"] = "Posts must be a whole number of at least 1."
    old_posts = _positive_int(values["old_posts"], allow_zero=True) if values["old_posts"] else 0
    if old_posts is None:
        errors["old_posts"] = "Old posts must be a whole number."
    if values["expiry"]:
        try:
            expiry = datetime.strptime(values["expiry"], "%d/%m/%Y").date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            errors["expiry"] = "Expiry must be a date written d/m/Y, e.g. 31/12/2026."
        else:
            if expiry <= date.today():  # noqa: DTZ011 - compared as a calendar date
                errors["expiry"] = "Expiry must be in the future."
            fields["expiry"] = values["expiry"]
    if errors:
        raise ValidationError(errors)
    fields.update({"min": str(low), "max": str(high), "delay": str(delay), "posts": str(posts)})
    if old_posts:
        fields["old_posts"] = str(old_posts)
    units = high * (posts + old_posts)
    charge = to_money(price * units / 1000)
    if charge <= 0:
        raise ValidationError({"max": "This subscription is too small to be charged."})
    return OrderSpec(fields=fields, units=units, charge=charge, link=values["username"])


def _drip_feed(service, values, fields, errors) -> int | None:
    if not values["runs"] and not values["interval"]:
        return None
    if not service.provider_service.dripfeed:
        errors["runs"] = "This service cannot be drip-fed."
        return None
    runs = _positive_int(values["runs"])
    interval = _positive_int(values["interval"])
    if runs is None or not 2 <= runs <= MAX_RUNS:
        errors["runs"] = f"Runs must be a whole number from 2 to {MAX_RUNS}."
    if interval is None or interval > MAX_INTERVAL_MINUTES:
        errors["interval"] = f"Interval must be a whole number of minutes from 1 to {MAX_INTERVAL_MINUTES}."
    if "runs" in errors or "interval" in errors:
        return None
    fields.update({"runs": str(runs), "interval": str(interval)})
    return runs


def _quantity(raw: str, service, errors, name: str) -> int | None:
    number = _positive_int(raw, allow_zero=True)
    if number is None:
        errors[name] = "Enter a whole number."
        return None
    return _within(number, service, errors, name, noun="")


def _within(number: int, service, errors, name: str, *, noun: str) -> int | None:
    # The codes let API v2 answer with the canonical "Quantity less than minimal N" messages.
    suffix = f" {noun}" if noun else ""
    if number < service.min_quantity:
        errors[name] = ValidationError(
            f"The minimum is %(limit)s{suffix}.", code="min_quantity", params={"limit": service.min_quantity}
        )
    elif number > service.max_quantity:
        errors[name] = ValidationError(
            f"The maximum is %(limit)s{suffix}.", code="max_quantity", params={"limit": service.max_quantity}
        )
    else:
        return number
    return None


def _positive_int(raw: str, *, allow_zero: bool = False) -> int | None:
    if not re.fullmatch(r"\d{1,12}", raw or ""):
        return None
    number = int(raw)
    return number if number > 0 or (allow_zero and number == 0) else None


def _url_error(value: str) -> str | None:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return "Enter a full link starting with http:// or https://."
    return None if len(value) <= 2000 else "This link is too long."
