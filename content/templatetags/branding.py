"""``{% brand as b %}``: the panel's branding where no request renders the template (the mails)."""

from django import template

from content.branding import Brand, branding_current

register = template.Library()


@register.simple_tag
def brand() -> Brand:
    return branding_current()
