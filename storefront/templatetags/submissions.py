from django import template
from django.utils.html import format_html

from storefront.submissions import TOKEN_FIELD, submission_token_new

register = template.Library()


@register.simple_tag
def submission_field():
    """A hidden field with a new one-time token: this rendering of the form places or pays at most once."""
    return format_html('<input type="hidden" name="{}" value="{}">', TOKEN_FIELD, submission_token_new())
