"""CSV export of an admin list, filtered as the list is: the operator filters, searches or picks a date on
the changelist, and "Export CSV" streams exactly those rows (every page of them).

No third-party app: the changelist already knows the filters, and each admin names the columns a role may
see (``csv_columns``), so what a page hides (Support's provider side, balances) is never exported either.
Cells a spreadsheet would read as a formula are written as text (CSV injection)."""

import csv
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone

Column = tuple[str, Callable[[object], object]]

# What Excel, LibreOffice and Google Sheets start a formula with (tab and CR too: some strip them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """``value`` as a spreadsheet shows it, never run: a text that starts like a formula gets a ``'``.
    A number is no formula: a debit stays -5.0000, a number to add up."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(columns: list[Column], objects: Iterable) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _ in columns])
    for obj in objects:
        yield writer.writerow([safe_cell(read(obj)) for _, read in columns])


class CsvExportAdmin:
    """A model admin mixin: ``<changelist>/export.csv`` and an "Export CSV" link on the list that carries
    its filters. Who may view the list may export it; ``csv_columns(request)`` says what each may see."""

    change_list_template = "admin/csv_export_change_list.html"

    def csv_columns(self, request) -> list[Column]:
        raise NotImplementedError

    def get_urls(self):
        opts = self.model._meta
        export = self.admin_site.admin_view(self.csv_export_view)
        name = f"{opts.app_label}_{opts.model_name}_export"
        return [path("export.csv", export, name=name), *super().get_urls()]

    def csv_export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except (IncorrectLookupParameters, SuspiciousOperation):
            return HttpResponseBadRequest("Those filters are not the list's.")
        objects = changelist.get_queryset(request).iterator(chunk_size=500)
        name = f"{self.model._meta.model_name}s-{timezone.now():%Y%m%d-%H%M}.csv"
        response = StreamingHttpResponse(
            csv_rows(self.csv_columns(request), objects), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
