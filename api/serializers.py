"""REST API shapes. Money is a string in the panel's currency; ids are this panel's own."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import ApiRequest
from billing.models import LedgerEntry
from billing.money import MONEY_FIELD
from catalogue.models import Service
from catalogue.orderable import service_orderable
from orders.models import Order, OrderEvent, Refill
from orders.order_types import ALL_FIELDS, dripfeed_allowed
from reseller.numbers import whole_number


class WholeNumberField(serializers.IntegerField):
    """A JSON number, or a string of ASCII digits (``reseller.numbers.whole_number``): DRF's own field would
    read "١٢" or "1_000" through int()."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            number = whole_number(data)
            if number is None:
                self.fail("invalid")
            data = number
        return super().to_internal_value(data)


def _count(help_text: str = "") -> serializers.IntegerField:
    return WholeNumberField(required=False, min_value=0, max_value=10**12, help_text=help_text)


class QuantityLimitField(serializers.IntegerField):
    """A service's ``min_quantity`` or ``max_quantity`` as ``service_orderable`` answers it."""

    def __init__(self, limit: str, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)
        self.limit = limit

    def to_representation(self, value):
        return getattr(service_orderable(value), self.limit)


class ServiceSerializer(serializers.ModelSerializer):
    rate = serializers.SerializerMethodField(help_text="Your price per 1000 (per package for package types).")
    min = QuantityLimitField("min_quantity")
    max = QuantityLimitField("max_quantity")
    dripfeed = serializers.SerializerMethodField(help_text="Accepts runs and interval.")
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "category",
            "description",
            "type",
            "rate",
            "currency",
            "min",
            "max",
            "refill",
            "refill_days",
            "cancel",
            "dripfeed",
        ]

    @extend_schema_field(serializers.DecimalField(**MONEY_FIELD))
    def get_rate(self, service) -> str:
        return str(self.context["prices"][service.pk])

    def get_currency(self, service) -> str:
        return settings.PANEL_CURRENCY

    def get_dripfeed(self, service) -> bool:
        return dripfeed_allowed(service)


class OrderSerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="service.name", read_only=True)
    status = serializers.CharField(
        source="public_status",
        help_text=(
            "Pending, In progress, Processing, Completed, Partial, Canceled "
            "(subscriptions: Active, Paused, Expired)."
        ),
    )
    remains = serializers.IntegerField(source="remains_shown")
    quantity = serializers.IntegerField(
        source="units", help_text="What was paid for: quantity x runs, lines, posts x max…"
    )
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "service",
            "service_name",
            "type",
            "link",
            "quantity",
            "runs",
            "charge",
            "refunded",
            "currency",
            "status",
            "start_count",
            "remains",
            "created_at",
            "finished_at",
        ]

    def get_currency(self, order) -> str:
        return settings.PANEL_CURRENCY


class OrderEventSerializer(serializers.ModelSerializer):
    message = serializers.CharField(source="public_message")

    class Meta:
        model = OrderEvent
        fields = ["created_at", "message"]


class RefillSerializer(serializers.ModelSerializer):
    status = serializers.CharField(
        source="public_status", help_text="Pending, In progress, Completed, Rejected."
    )

    class Meta:
        model = Refill
        fields = ["id", "order", "status", "created_at", "updated_at"]


class OrderDetailSerializer(OrderSerializer):
    order_fields = serializers.JSONField(
        source="fields", help_text="What was ordered, as checked (link, quantity, comments…)."
    )
    history = OrderEventSerializer(many=True, source="public_events")
    refills = RefillSerializer(many=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "order_fields", "history", "refills"]


class OrderCreateSerializer(serializers.Serializer):
    """The service and the fields of its type (see the service's ``type``); the others are ignored."""

    service = WholeNumberField(min_value=1, max_value=2**63 - 1)
    link = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    comments = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    username = serializers.CharField(required=False, allow_blank=True)
    usernames = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    hashtags = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    hashtag = serializers.CharField(required=False, allow_blank=True)
    media = serializers.CharField(required=False, allow_blank=True)
    groups = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    keywords = serializers.CharField(required=False, allow_blank=True, help_text="One per line.")
    expiry = serializers.CharField(required=False, allow_blank=True, help_text="Subscriptions: d/m/Y.")
    quantity = _count()
    runs = _count("Drip-feed: how many runs; quantity is per run.")
    interval = _count("Drip-feed: minutes between runs.")
    answer_number = _count("Poll: the answer to vote for.")
    min = _count("Subscriptions: quantity per post, at least.")
    max = _count("Subscriptions: quantity per post, at most.")
    posts = _count("Subscriptions: how many new posts.")
    old_posts = _count("Subscriptions: how many existing posts.")
    delay = _count("Subscriptions: minutes after a post is published.")

    def order_data(self) -> dict[str, str]:
        return {name: str(value) for name, value in self.validated_data.items() if name in ALL_FIELDS}


class BalanceSerializer(serializers.Serializer):
    balance = serializers.DecimalField(**MONEY_FIELD)
    currency = serializers.CharField()


class LedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "created_at", "kind", "amount", "balance_after", "reference"]


class ApiRequestSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="api_key.prefix")

    class Meta:
        model = ApiRequest
        fields = ["created_at", "key", "interface", "action", "http_status", "error", "duration_ms", "ip"]


class CancelSerializer(serializers.Serializer):
    detail = serializers.CharField()
