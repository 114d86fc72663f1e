from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class HistoryCursorPagination(CursorPagination):
    """A customer's history — orders, refills, the ledger — newest first, a page at a time by ``cursor`` (the
    opaque position in the ``next`` and ``previous`` links) with no count: a history only grows, and counting
    it on every page cost more than the page. Page numbers are refused, not ignored: a client counting pages
    would get page 1 again and again."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        if "page" in request.query_params:
            raise ValidationError({"page": "This list is paged by cursor: follow the `next` link."})
        return super().paginate_queryset(queryset, request, view)
