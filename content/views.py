"""Customer pages of what the operator tells them: dismissing an announcement, the service updates page and
the operator's pages. Thin: the reads are in ``content.selectors``, the one write in ``content.services``."""

from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from content.branding import branding_current
from content.models import Branding, Page, ServiceUpdate
from content.selectors import service_update_categories, service_updates
from content.services import announcement_dismiss
from storefront.parsing import query_text

PAGE_SIZE = 50


@login_required
@require_POST
def announcement_dismiss_view(request, pk: int):
    """With htmx, the announcement's box is swapped for nothing; without, back to the dashboard."""
    if not announcement_dismiss(user=request.user, announcement_id=pk):
        raise Http404
    if request.htmx:
        return HttpResponse("")
    return redirect("storefront:dashboard")


def service_updates_page(request):
    kind, category = query_text(request.GET, "kind"), query_text(request.GET, "category")
    kind = kind if kind in ServiceUpdate.Kind.values else ""
    page = Paginator(service_updates(kind=kind, category=category), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "content/service_updates.html",
        {
            "page": page,
            "kinds": ServiceUpdate.Kind.choices,
            "kind": kind,
            "categories": service_update_categories(),
            "category": category,
        },
    )


def page(request, slug: str):
    return render(request, "content/page.html", {"page": get_object_or_404(Page, slug=slug)})


# --- branding: the stylesheet of the operator's colours, the logo and the favicon ---------------------------

# Long-lived: each address carries the version of what it serves, so a new save is a new address.
BRAND_CACHE_CONTROL = "public, max-age=31536000, immutable"


def brand_stylesheet(request, version: str):
    """The operator's colours as the CSS variables ``site.css`` uses: a stylesheet of our origin, since the
    Content-Security-Policy bars inline styles. The colours were validated as #rrggbb when saved."""
    brand = branding_current()
    css = (
        f":root {{ --accent: {brand.accent_colour}; --bg: {brand.background_colour}; }}\n"
        "header.site img.logo { display: block; max-height: 2.5rem; max-width: 12rem; width: auto; }\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = BRAND_CACHE_CONTROL if version == brand.version else "no-cache"
    return response


def _image_response(data: bytes, content_type: str, *, versioned: bool) -> HttpResponse:
    """An uploaded image, served so a browser can only show it: the type checked on upload, no sniffing,
    and a policy that runs nothing should it be opened as a page."""
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = BRAND_CACHE_CONTROL if versioned else "public, max-age=3600"
    return response


def brand_logo(request, version: str):
    row = Branding.objects.filter(pk=1).only("logo_image", "logo_type").first()
    if row is None or not row.logo_image:
        raise Http404
    return _image_response(
        bytes(row.logo_image), row.logo_type, versioned=version == branding_current().logo_version
    )


def favicon(request):
    """The operator's favicon, or the panel's default one (browsers ask for /favicon.ico on every site)."""
    row = Branding.objects.filter(pk=1).only("favicon_image", "favicon_type").first()
    if row is not None and row.favicon_image:
        return _image_response(bytes(row.favicon_image), row.favicon_type, versioned="v" in request.GET)
    return _image_response(_default_favicon(), "image/x-icon", versioned=False)


@cache
def _default_favicon() -> bytes:
    return Path(finders.find("storefront/favicon.ico")).read_bytes()
