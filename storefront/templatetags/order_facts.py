"""What the storefront says about a service or an order beyond its fields: the unit its rate is per, why it
waits, its drip-feed runs and subscription terms, a service's average time."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.progress import drip_feed, is_package, subscription
from orders.waiting import customer_wait_note
from storefront.labels import status_label as _status_label

register = template.Library()


@register.filter
def rate_unit(kind: str) -> str:
    """``{{ service.type|rate_unit }}``: "per package" or "per 1000"."""
    return _("per package") if is_package(kind) else _("per 1000")


@register.filter
def status_label(spelling: str) -> str:
    """``{{ order.public_status|status_label }}``: API v2's spelling in the customer's language."""
    return _status_label(spelling)


@register.filter
def history_line(text: str) -> str:
    """A line of the order's history as stored (English): a status, or a fixed line, in the customer's
    language; lines with figures in them as written."""
    label = _status_label(text)
    if label != text or not text:  # gettext("") would be the catalogue's header
        return label
    return _(text)


@register.filter
def wait_note(order) -> str:
    return customer_wait_note(order)


@register.filter
def drip_feed_of(order):
    return drip_feed(order)


@register.filter
def subscription_of(order):
    return subscription(order)


@register.filter
def took(duration) -> str:
    """A duration as "2 h 5 min" (minutes rounded; under a minute: "under a minute")."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 1:
        return _("under a minute")
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes and not days:
        parts.append(_("%(n)d min") % {"n": minutes})
    return " ".join(parts)
