from functools import cache

from support.selectors import unread_count


def unread(request):
    """How many of the staff's messages the signed-in customer has not seen, for the storefront's header.
    A callable, called only by the pages that show it (the admin's never do)."""
    # No user on an error page rendered before the authentication middleware (storefront's ``balance``).
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}

    @cache
    def header_unread():
        return unread_count(request.user)

    return {"header_unread": header_unread}
