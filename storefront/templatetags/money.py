"""``{% money amount %}``: every amount shown to customers, with its currency, in the one they chose to see
(``storefront.money``). ``places``: for unit prices, finer than cents."""

from django import template

from storefront.money import PANEL, money_html, money_text

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, amount, places: int = 2, exact: bool = False):
    # Pages rendered without a request (mails) or by the console have no display currency: the panel's.
    return money_html(amount, context.get("display_currency") or PANEL, places=places, exact=exact)


@register.simple_tag(takes_context=True)
def money_plain(context, amount, places: int = 2):
    """As ``money``, as text: where no markup may go (an ``<option>``, an attribute)."""
    return money_text(amount, context.get("display_currency") or PANEL, places=places)
