from functools import cache

from content.selectors import pages_written


def pages(request):
    """The operator's pages written so far, for the storefront's footer and sign-up page. A callable,
    which templates call when they show the links (one query then): the admin's pages never do."""
    return {"content_pages": cache(pages_written)}
