from django import template

from console.selectors import review_queue_count

register = template.Library()


@register.simple_tag
def needs_review_count() -> int:
    return review_queue_count()
