"""Why an order that is not yet with the provider waits, in the customer's terms.

``Order.wait_reason`` is written for the operator: it names the provider and quotes its answer. Customers get
one of a few fixed sentences chosen from what the order's state says, never that text: an unknown reason
reads as the generic "we will retry", so a new wording upstream cannot leak through.
"""

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from orders.models import Order

S = Order.Status

# The provider's answer when it already works on an order for the same link (PerfectPanel's wording).
_LINK_BUSY = "active order with this link"


def customer_wait_note(order: Order) -> str:
    """A sentence saying why ``order`` is not yet at the provider, or "" when it is (or is over)."""
    at = _time(order.next_attempt_at)
    if order.status == S.QUEUED:
        if at:
            return _("In the queue: we send it to the provider at %(time)s.") % {"time": at}
        return _("In the queue: we send it to the provider in a moment.")
    if order.status == S.SENDING:
        return _("Being sent to the provider now.")
    if order.status == S.NEEDS_REVIEW:
        return _("We are checking this order with the provider; you will not be charged twice.")
    if order.status != S.WAITING:
        return ""
    if _LINK_BUSY in order.wait_reason.lower():
        if at:
            return _(
                "Another order for this link is in progress; we will send this one when it finishes "
                "(next check at %(time)s)."
            ) % {"time": at}
        return _("Another order for this link is in progress; we will send this one when it finishes.")
    if at:
        return _("The provider is busy; we will retry at %(time)s.") % {"time": at}
    return _("The provider is busy; we will retry shortly.")


def _time(moment) -> str:
    if moment is None or moment <= timezone.now():
        return ""
    return date_format(timezone.localtime(moment), "H:i T")
