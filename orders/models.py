"""Orders, their history and their refills."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.money import MONEY_FIELD
from catalogue.models import Service
from panels.models import Provider, ProviderService
from panels.normalize import OrderStatus, RefillStatus, order_status


class Order(models.Model):
    class Status(models.TextChoices):
        # Ours: before and while sending.
        QUEUED = "queued", "Queued"
        WAITING = "waiting", "Waiting (will retry)"
        SENDING = "sending", "Sending"
        NEEDS_REVIEW = "needs_review", "Needs review"
        FAILED = "failed", "Failed (refunded)"
        # The provider's, once sent.
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        PARTIAL = "partial", "Partial"
        CANCELED = "canceled", "Canceled"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="orders")
    provider_service = models.ForeignKey(ProviderService, on_delete=models.PROTECT, related_name="orders")
    type = models.CharField(max_length=64)
    link = models.CharField(max_length=2000, help_text="The link (the username for subscriptions).")
    fields = models.JSONField(help_text="Exactly what is sent upstream with action=add.")
    units = models.PositiveBigIntegerField(
        help_text="What the charge is for: quantity x runs, lines, posts x max…"
    )
    runs = models.PositiveIntegerField(null=True, blank=True)

    price = models.DecimalField(**MONEY_FIELD, help_text="Per 1000 (or per package) for this customer.")
    charge = models.DecimalField(**MONEY_FIELD)
    refunded = models.DecimalField(**MONEY_FIELD, default=Decimal(0))

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    wait_reason = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)

    # NULL until sent, so the unique constraint only binds real provider ids.
    provider_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    provider_status = models.CharField(max_length=64, blank=True, help_text="As the provider spelled it.")
    start_count = models.BigIntegerField(null=True, blank=True)
    remains = models.BigIntegerField(null=True, blank=True, help_text="Clamped to 0…units.")
    cost = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        null=True,
        blank=True,
        help_text="What the provider charged us, in its currency.",
    )
    cost_currency = models.CharField(max_length=8, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # An operator checked a stuck order and took it off the review queue (it returns if it gets stuck again).
    review_resolved_at = models.DateTimeField(null=True, blank=True)
    # Answers that leave the money unsettled: the order stays open and joins the review queue (DOMAIN §4.13).
    figures_missing_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The provider reported it finished without the figures its refund needs (e.g. a Partial "
        "without remains): an operator settles it.",
    )
    unaccounted_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Since when the provider's status answers no longer account for it (an error for its id, "
        "left out, a status nobody knows).",
    )
    unaccounted_syncs = models.PositiveIntegerField(
        default=0, help_text="Status syncs in a row that did not."
    )
    unaccounted_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_order_id"], name="one_order_per_provider_order_id"
            ),
            models.CheckConstraint(
                condition=Q(refunded__lte=models.F("charge")), name="refund_within_charge"
            ),
            models.CheckConstraint(condition=Q(charge__gt=0), name="order_charge_positive"),
        ]
        indexes = [models.Index(fields=["provider", "status"]), models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def public_status(self) -> str:
        """The status as customers and resellers see it, spelled as API v2 spells it (DOMAIN §3)."""
        if self.type == "Subscriptions":
            upstream = order_status(self.provider_status)
            if self.status == self.Status.IN_PROGRESS:
                return upstream.value if upstream == OrderStatus.PAUSED else OrderStatus.ACTIVE.value
            if self.status == self.Status.COMPLETED and upstream == OrderStatus.EXPIRED:
                return upstream.value
        return _PUBLIC_ORDER_STATUS[self.status]

    @property
    def remains_shown(self) -> int:
        """What is still to deliver: the provider's count once known, otherwise everything."""
        return self.units if self.remains is None else self.remains


_PUBLIC_ORDER_STATUS = {
    # Before and while sending, and while an operator checks an unknown outcome, the order waits.
    Order.Status.QUEUED: OrderStatus.PENDING.value,
    Order.Status.WAITING: OrderStatus.PENDING.value,
    Order.Status.SENDING: OrderStatus.PENDING.value,
    Order.Status.NEEDS_REVIEW: OrderStatus.PENDING.value,
    Order.Status.PENDING: OrderStatus.PENDING.value,
    Order.Status.IN_PROGRESS: OrderStatus.IN_PROGRESS.value,
    Order.Status.PROCESSING: OrderStatus.PROCESSING.value,
    Order.Status.COMPLETED: OrderStatus.COMPLETED.value,
    Order.Status.PARTIAL: OrderStatus.PARTIAL.value,
    Order.Status.CANCELED: OrderStatus.CANCELED.value,
    # Never sent, refunded in full: for the customer it was canceled.
    Order.Status.FAILED: OrderStatus.CANCELED.value,
}


class OrderEvent(models.Model):
    """The order's history: every status change, every provider call about it, every operator action."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    message = models.TextField(help_text="For the operator: may name the provider and its ids.")
    public_message = models.CharField(
        max_length=255,
        blank=True,
        help_text="What the customer sees of this event; empty: not shown to them.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:  # never the message: titles and links show it to whoever sees the event
        return f"Event #{self.pk} of {self.order}"


REFILL_FINAL = ("completed", "rejected")


class Refill(models.Model):
    """A customer's request to top an order back up. Free: no money moves."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SENDING = "sending", "Sending"
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        NEEDS_REVIEW = "needs_review", "Needs review"

    # Every state but the final ones, the unknown outcome included: one of them at a time per order.
    OPEN = tuple(value for value in Status.values if value not in REFILL_FINAL)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refills")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    provider_refill_id = models.CharField(max_length=64, blank=True)
    provider_status = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=~Q(status__in=REFILL_FINAL), name="one_open_refill_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Refill of {self.order} ({self.get_status_display()})"

    @property
    def public_status(self) -> str:
        return _PUBLIC_REFILL_STATUS[self.status]


_PUBLIC_REFILL_STATUS = {
    Refill.Status.REQUESTED: RefillStatus.PENDING.value,
    Refill.Status.SENDING: RefillStatus.PENDING.value,
    Refill.Status.NEEDS_REVIEW: RefillStatus.PENDING.value,
    Refill.Status.PENDING: RefillStatus.PENDING.value,
    Refill.Status.IN_PROGRESS: RefillStatus.IN_PROGRESS.value,
    Refill.Status.COMPLETED: RefillStatus.COMPLETED.value,
    Refill.Status.REJECTED: RefillStatus.REJECTED.value,
}
