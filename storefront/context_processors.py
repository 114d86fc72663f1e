from billing.services import account_for


def balance(request):
    """The signed-in customer's balance, shown in the header of every page (one query)."""
    if not request.user.is_authenticated:
        return {}
    return {"header_balance": account_for(request.user).balance}
