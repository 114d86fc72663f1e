from datetime import timedelta

from django import template

from billing.selectors import manual_topups_waiting, topups_taken_back
from catalogue.margins import storefront_losses
from console.navigation import sections
from console.selectors import review_count_shown, review_queue_count
from support.selectors import tickets_awaiting_staff_count

register = template.Library()


@register.simple_tag(takes_context=True)
def console_sections(context) -> list[dict]:
    """The pages the user may open, by section (the front page's grid; the sidebar draws the same)."""
    return sections(context["request"])


@register.simple_tag
def needs_review_count() -> int:
    return review_queue_count()


@register.filter
def queue_size(count: int) -> str:
    """The review queue's size as shown: "1,000+" past ``REVIEW_COUNT_SHOWN``."""
    return review_count_shown(count)


@register.simple_tag
def tickets_waiting_count() -> int:
    """Support tickets whose customer waits for the staff (open, or the customer replied)."""
    return tickets_awaiting_staff_count()


@register.simple_tag
def money_waiting() -> dict[str, int]:
    """Manual payments to decide, and deposits a processor took back."""
    return {"manual": manual_topups_waiting(), "taken_back": topups_taken_back()}


@register.simple_tag
def services_under_cost() -> int:
    """Services with a price under its cost now (list, custom or discounted): each sells at a loss."""
    return storefront_losses().services


@register.filter
def duration(value: timedelta | None) -> str:
    """A span as an operator reads it: '1 d 3 h', '2 h 5 min', '4 min'; '—' for none."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"
