from functools import cache

from django.utils.functional import SimpleLazyObject

from billing.services import account_for
from storefront.money import display_currency_for


def balance(request):
    """The signed-in customer's balance, shown in the header of every storefront page (one query).
    A callable, which templates call when they show it: the admin's pages render through this processor
    too, and never do."""
    # An error page rendered before the authentication middleware ran (a Host the panel does not serve:
    # Django answers 400 from the first middleware that reads it) has no user.
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}

    @cache
    def header_balance():
        return account_for(request.user).balance

    return {
        "header_balance": header_balance,
        # The currency amounts are shown in (``{% money %}``): one query, when a page first shows an amount.
        "display_currency": SimpleLazyObject(lambda: display_currency_for(request.user)),
    }
