"""The statuses customers read, in their language. API v2 spells them in English ("In progress") on the wire
and the models keep that spelling (``public_status``); only the pages translate it, through here."""

from django.utils.translation import pgettext_lazy

# Orders' and refills' public spellings (panels.normalize.OrderStatus, RefillStatus).
_STATUSES = {
    "Pending": pgettext_lazy("order status", "Pending"),
    "In progress": pgettext_lazy("order status", "In progress"),
    "Processing": pgettext_lazy("order status", "Processing"),
    "Completed": pgettext_lazy("order status", "Completed"),
    "Partial": pgettext_lazy("order status", "Partial"),
    "Canceled": pgettext_lazy("order status", "Canceled"),
    "Refunded": pgettext_lazy("order status", "Refunded"),
    "Fail": pgettext_lazy("order status", "Failed"),
    "Active": pgettext_lazy("order status", "Active"),
    "Paused": pgettext_lazy("order status", "Paused"),
    "Expired": pgettext_lazy("order status", "Expired"),
    "Rejected": pgettext_lazy("order status", "Rejected"),
    "Refill not found": pgettext_lazy("order status", "Refill not found"),
    "Unknown": pgettext_lazy("order status", "Unknown"),
}


def status_label(spelling: str) -> str:
    """``"In progress"`` as the customer's language says it (a spelling not listed: as it is)."""
    return _STATUSES.get(str(spelling), spelling)
