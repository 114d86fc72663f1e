"""Customer pages of what the operator tells them: dismissing an announcement, the service updates page and
the operator's pages. Thin: the reads are in ``content.selectors``, the one write in ``content.services``."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from content.models import Page, ServiceUpdate
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
