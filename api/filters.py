import django_filters

from orders.models import Order, Refill, Service

PUBLIC_STATUSES = {
    "pending": ["queued", "waiting", "sending", "needs_review", "pending"],
    "in_progress": ["in_progress"],
    "processing": ["processing"],
    "completed": ["completed"],
    "partial": ["partial"],
    "canceled": ["canceled", "failed"],
}


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(name, name.replace("_", " ").capitalize()) for name in PUBLIC_STATUSES],
        method="filter_status",
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    link = django_filters.CharFilter(lookup_expr="icontains", max_length=200)

    class Meta:
        model = Order
        fields = ["status", "service", "type", "link", "created_after", "created_before"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=PUBLIC_STATUSES[value])


class ServiceFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)

    class Meta:
        model = Service
        fields = ["category", "type", "refill", "cancel", "search"]


class RefillFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order_id")

    class Meta:
        model = Refill
        fields = ["order"]
