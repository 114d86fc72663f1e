from datetime import UTC, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from catalogue.models import Service
from orders.models import Order, Refill


class RealDateTimeField(IsoDateTimeField):
    """ISO 8601, with a UTC offset that exists (PostgreSQL refuses the rest with an error), for a moment that
    is a moment in UTC too: 0001-01-01T00:00+14:00 and 9999-12-31T23:59-14:00 are outside Python's years, and
    the database backends convert to UTC before they compare."""

    def to_python(self, value):
        moment = super().to_python(value)
        offset = moment.utcoffset() if moment and moment.tzinfo else None
        if offset is not None and abs(offset) > timedelta(hours=14):
            raise forms.ValidationError("Enter a UTC offset between -14:00 and +14:00.")
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError("Enter a date between the years 1 and 9999 in UTC.") from None
        return moment


class RealDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = RealDateTimeField


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        # The statuses customers see (API v2's), each with ours behind it: the storefront's tabs too.
        choices=[(group.key, group.label) for group in Order.states.public_groups()],
        method="filter_status",
    )
    created_after = RealDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = RealDateTimeFilter(field_name="created_at", lookup_expr="lt")
    link = django_filters.CharFilter(lookup_expr="icontains", max_length=200)

    class Meta:
        model = Order
        fields = ["status", "service", "type", "link", "created_after", "created_before"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=Order.states.public_group(value).statuses)


class ServiceFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)

    class Meta:
        model = Service
        fields = ["category", "type", "refill", "cancel", "search"]


class RefillFilter(django_filters.FilterSet):
    # Bounded to a database id: past 64 bits SQLite cannot even compare it (found by the fuzzer).
    order = django_filters.NumberFilter(field_name="order_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Refill
        fields = ["order"]
