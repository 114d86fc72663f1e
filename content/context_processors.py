from functools import cache

from django.utils.functional import SimpleLazyObject

from content.branding import branding_current
from content.selectors import pages_written


def pages(request):
    """The operator's pages written so far, for the storefront's footer and sign-up page. A callable,
    which templates call when they show the links (one query then): the admin's pages never do."""
    return {"content_pages": cache(pages_written)}


def brand(request):
    """The panel's branding (name, colours, logo, footer) for every page, the console's too: read when a
    template first uses it, from the cache (``content.branding``)."""
    return {"brand": SimpleLazyObject(branding_current)}
