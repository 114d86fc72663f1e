"""Paging lists whose history only grows, without counting it on every page."""

import json
from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet

from reseller.numbers import whole_number

# Past this page the offset is refused as page 1 would be: nobody pages a million rows by hand.
LAST_PAGE = 1_000_000


@dataclass
class UncountedPage:
    """One page of a list too long to count on every visit: its rows, and whether there are more. Reads
    like Django's ``Page`` to the pager, with no ``paginator``: the total is not known."""

    object_list: list
    number: int
    more: bool
    paginator = None

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.more

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def page_without_count(queryset: QuerySet, number, *, per_page: int) -> UncountedPage:
    """Page ``number`` (text as in ``?page=``; anything else is page 1) of the ordered ``queryset``, in one
    query: the page's ids are picked from the index that serves the filter and the ordering (skipping by
    offset reads index entries only), then only those rows are read. One row more tells if there is a next
    page."""
    number = whole_number(number) if isinstance(number, str) else None
    number = number if number and number <= LAST_PAGE else 1
    offset = (number - 1) * per_page
    ids = queryset.values("pk")[offset : offset + per_page + 1]
    rows = list(queryset.filter(pk__in=ids))
    return UncountedPage(object_list=rows[:per_page], number=number, more=len(rows) > per_page)


# Below this many rows (by the planner's estimate) a list is counted exactly.
COUNTED_BELOW = 10_000


class EstimatedCountPaginator(Paginator):
    """The admin's paginator for a table too big to count on every visit: on PostgreSQL, a list the planner
    expects to hold ``COUNTED_BELOW`` rows or more is not counted; its size is the planner's estimate for the
    list's own query (from the table's statistics: ``pg_class.reltuples`` when unfiltered), so its pages
    are numbered from an estimate. Smaller lists, and other databases, are counted."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return super().count
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:  # a filter no row can match (an id list that is empty)
            return 0
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        return estimate if estimate >= COUNTED_BELOW else super().count


class LongListAdmin:
    """For the admin of a table that only grows (orders, their events, the ledger): no count of the whole
    table for "N total", pages numbered from the planner's estimate (``EstimatedCountPaginator``). Its filters
    must not read the table for their choices either: known values, searches, date ranges — no
    ``date_hierarchy``, whose links list the distinct years, months and days of every row."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def lookup_allowed(self, lookup, value, request=None):
        # Dates by the range filter only: with no date hierarchy, a hand-made year past 9999 would be a 500.
        if lookup.startswith("created_at__"):
            return False
        return super().lookup_allowed(lookup, value, request)
