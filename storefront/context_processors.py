from functools import cache

from billing.services import account_for


def balance(request):
    """The signed-in customer's balance, shown in the header of every storefront page (one query).
    A callable, which templates call when they show it: the admin's pages render through this processor
    too, and never do."""
    if not request.user.is_authenticated:
        return {}

    @cache
    def header_balance():
        return account_for(request.user).balance

    return {"header_balance": header_balance}
