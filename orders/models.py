"""Orders, their history and their refills."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.money import MONEY_FIELD, PROVIDER_MONEY_FIELD
from catalogue.models import Service
from panels.models import Provider, ProviderService
from panels.normalize import OrderStatus, RefillStatus, ServiceType, order_status
from reseller.states import StateTable


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

    states = StateTable(
        Status,
        transitions={
            Status.QUEUED: {Status.SENDING, Status.WAITING, Status.FAILED, Status.CANCELED},
            Status.WAITING: {Status.SENDING, Status.QUEUED, Status.FAILED, Status.CANCELED},
            Status.SENDING: {
                Status.PENDING,
                Status.QUEUED,
                Status.WAITING,
                Status.FAILED,
                Status.NEEDS_REVIEW,
            },
            Status.NEEDS_REVIEW: {Status.PENDING, Status.QUEUED, Status.FAILED},
            Status.PENDING: {
                Status.IN_PROGRESS,
                Status.PROCESSING,
                Status.COMPLETED,
                Status.PARTIAL,
                Status.CANCELED,
            },
            Status.IN_PROGRESS: {Status.PROCESSING, Status.COMPLETED, Status.PARTIAL, Status.CANCELED},
            Status.PROCESSING: {Status.IN_PROGRESS, Status.COMPLETED, Status.PARTIAL, Status.CANCELED},
            Status.COMPLETED: set(),
            Status.PARTIAL: set(),
            Status.CANCELED: set(),
            Status.FAILED: set(),
        },
        final={Status.COMPLETED, Status.PARTIAL, Status.CANCELED, Status.FAILED},
        public={
            # Before and while sending, and while an operator checks an unknown outcome, the order waits.
            Status.QUEUED: OrderStatus.PENDING,
            Status.WAITING: OrderStatus.PENDING,
            Status.SENDING: OrderStatus.PENDING,
            Status.NEEDS_REVIEW: OrderStatus.PENDING,
            Status.PENDING: OrderStatus.PENDING,
            Status.IN_PROGRESS: OrderStatus.IN_PROGRESS,
            Status.PROCESSING: OrderStatus.PROCESSING,
            Status.COMPLETED: OrderStatus.COMPLETED,
            Status.PARTIAL: OrderStatus.PARTIAL,
            Status.CANCELED: OrderStatus.CANCELED,
            # Never sent, refunded in full: for the customer it was canceled.
            Status.FAILED: OrderStatus.CANCELED,
        },
        named={
            "unsent": {Status.QUEUED, Status.WAITING},  # dispatchers send these; a cancel refunds them here
            "upstream_open": {Status.PENDING, Status.IN_PROGRESS, Status.PROCESSING},  # polled by the sync
            "ended_upstream": {Status.COMPLETED, Status.PARTIAL, Status.CANCELED},  # the provider's outcomes
        },
    )

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
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While unsent: when it is due to be sent (at placing, now; at a retry, when it is due). "
        "Its provider's dispatcher sends due orders oldest first; empty counts as due.",
    )
    send_attempts = models.PositiveSmallIntegerField(default=0)
    route_outcomes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Routes tried that placed nothing, by provider service id: 'refused' (never again for "
        "this order) or 'later' (tried again once every route was).",
    )

    # NULL until sent, so the unique constraint only binds real provider ids.
    provider_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    provider_status = models.CharField(max_length=64, blank=True, help_text="As the provider spelled it.")
    start_count = models.BigIntegerField(null=True, blank=True)
    remains = models.BigIntegerField(null=True, blank=True, help_text="Clamped to 0…units.")
    cost = models.DecimalField(
        **PROVIDER_MONEY_FIELD,
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
    auto_refill_check_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Completed, of a service with auto-refill: when it is looked at next (orders.auto_refill); "
        "empty: not followed.",
    )
    auto_refilled_at = models.DateTimeField(
        null=True, blank=True, help_text="When auto-refill last asked for a refill of it."
    )

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
        indexes = [
            models.Index(fields=["provider", "status"]),
            # A customer's list, newest first, paged by offset without reading the rows it skips (their
            # status is in the index, for the tabs); the admin's list filtered to a customer too.
            models.Index(
                fields=["user", "-created_at", "-id"], include=["status"], name="order_customer_list"
            ),
            # The dispatchers' queue: a provider's unsent orders by due time, however long the history.
            models.Index(
                fields=["provider", "next_attempt_at"],
                condition=Q(status__in=["queued", "waiting"]),
                name="order_unsent_due",
            ),
            # The dashboard's send rate: the orders sent in the last minutes, however long the history.
            models.Index(fields=["sent_at"], name="order_sent_at"),
            # The review queue's rules (``orders_needing_review``) on columns most orders leave empty.
            *(
                models.Index(
                    fields=[column], condition=Q(**{f"{column}__isnull": False}), name=f"order_{column}"
                )
                for column in ("figures_missing_since", "cancel_requested_at", "unaccounted_since")
            ),
            # Auto-refill's queue: a provider's followed orders by the time they are due to be looked at.
            models.Index(
                fields=["provider", "auto_refill_check_at"],
                condition=Q(auto_refill_check_at__isnull=False),
                name="order_auto_refill_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def outcome_unknown(self) -> bool:
        """Sent with no valid answer: the operator attaches the provider's id, resends or refunds."""
        return self.status == self.Status.NEEDS_REVIEW

    @property
    def is_subscription(self) -> bool:
        return self.type == ServiceType.SUBSCRIPTIONS

    @property
    def customer_id(self) -> int:
        """Whose it is: who is told of it (mails, webhooks)."""
        return self.user_id

    @property
    def public_status(self) -> str:
        """The status as customers and resellers see it, spelled as API v2 spells it (DOMAIN §3)."""
        if self.is_subscription:
            upstream = order_status(self.provider_status)
            if self.status == self.Status.IN_PROGRESS:
                return upstream.value if upstream == OrderStatus.PAUSED else OrderStatus.ACTIVE.value
            if self.status == self.Status.COMPLETED and upstream == OrderStatus.EXPIRED:
                return upstream.value
        return self.states.public[self.status]

    @property
    def remains_shown(self) -> int:
        """What is still to deliver: the provider's count once known, otherwise everything."""
        return self.units if self.remains is None else self.remains

    def on_transition(self, source: str, to: str) -> dict:
        # A new state: whether it is stuck is judged afresh.
        changes = {"review_resolved_at": None}
        if to in self.states.final:
            changes["finished_at"] = timezone.now()
        if to == self.Status.COMPLETED:
            from orders.auto_refill import auto_refill_first_check  # it imports this module

            changes["auto_refill_check_at"] = auto_refill_first_check(
                service=self.service, finished_at=changes["finished_at"]
            )
        return changes

    def record_transition(self, *, source: str, message: str, public: str, actor, shown_before: str) -> None:
        self.transition_event(
            source=source, message=message, public=public, actor=actor, shown_before=shown_before
        ).save()

    def transition_event(
        self, *, source: str, message: str, shown_before: str, public: str = "", actor=None
    ) -> "OrderEvent":
        """The event of a move, unsaved. The customer's history gets a line when the status they see
        changes."""
        if not public and self.public_status != shown_before:
            public = self.public_status
        return OrderEvent(
            order=self,
            message=message,
            public_message=public,
            actor=actor,
            from_status=source,
            to_status=self.status,
        )


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
        indexes = [
            # The admin's list of every order's events, newest first, a page at a time with no sort of them
            # all (an order's own are read by the order's index).
            models.Index(fields=["-created_at", "-id"], name="orderevent_newest_first"),
        ]

    def __str__(self) -> str:  # never the message: titles and links show it to whoever sees the event
        return f"Event #{self.pk} of {self.order}"


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

    states = StateTable(
        Status,
        transitions={
            Status.REQUESTED: {Status.SENDING},
            # Nothing sent: back to requested; refused; an unknown outcome; accepted.
            Status.SENDING: {Status.REQUESTED, Status.REJECTED, Status.NEEDS_REVIEW, Status.PENDING},
            # The operator attaches the provider's refill id, or closes it (none there).
            Status.NEEDS_REVIEW: {Status.PENDING, Status.REJECTED},
            Status.PENDING: {Status.IN_PROGRESS, Status.COMPLETED, Status.REJECTED},
            Status.IN_PROGRESS: {Status.PENDING, Status.COMPLETED, Status.REJECTED},
            Status.COMPLETED: set(),
            Status.REJECTED: set(),
        },
        final={Status.COMPLETED, Status.REJECTED},
        public={
            Status.REQUESTED: RefillStatus.PENDING,
            Status.SENDING: RefillStatus.PENDING,
            Status.NEEDS_REVIEW: RefillStatus.PENDING,
            Status.PENDING: RefillStatus.PENDING,
            Status.IN_PROGRESS: RefillStatus.IN_PROGRESS,
            Status.COMPLETED: RefillStatus.COMPLETED,
            Status.REJECTED: RefillStatus.REJECTED,
        },
        named={"followed": {Status.PENDING, Status.IN_PROGRESS}},  # polled by the refill sync
    )

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refills")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    provider_refill_id = models.CharField(max_length=64, blank=True)
    provider_status = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=255, blank=True)
    automatic = models.BooleanField(
        default=False, help_text="Asked for by auto-refill (its service's setting), not by a person."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="While requested: as an order's, for the task that sends it."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Every state but the final ones (the table's; a test holds them equal), the unknown outcome
            # included: one of them at a time per order.
            models.UniqueConstraint(
                fields=["order"],
                condition=~Q(status__in=("completed", "rejected")),
                name="one_open_refill_per_order",
            ),
        ]
        indexes = [
            # The dashboard's count of auto-refills asked for lately.
            models.Index(fields=["created_at"], condition=Q(automatic=True), name="refill_automatic_created"),
            # The customers' refill lists, newest first by cursor (REST) or offset (the website): read along
            # this index, a customer's own picked by the order they belong to, with no sort of them all.
            models.Index(fields=["-created_at", "-id"], name="refill_newest_first"),
        ]

    def __str__(self) -> str:
        return f"Refill of {self.order} ({self.get_status_display()})"

    @property
    def public_status(self) -> str:
        return self.states.public[self.status]

    @property
    def customer_id(self) -> int:
        """Whose it is: its order's customer."""
        return self.order.user_id

    def on_transition(self, source: str, to: str) -> dict:
        return {}

    def record_transition(self, *, source: str, message: str, public: str, actor, shown_before: str) -> None:
        """Refills are part of their order's history."""
        if not public and self.public_status != shown_before:
            public = f"Refill: {self.public_status.lower()}."
        OrderEvent.objects.create(
            order=self.order, message=f"Refill: {message}", public_message=public, actor=actor
        )


class OrderTallyFigures(models.Model):
    """What the dashboard adds up about a group of orders (``orders.tally``): the group's key — the day
    they were placed (in the panel's time zone), provider, service, status, cost currency — and its sums."""

    provider = models.ForeignKey(Provider, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    status = models.CharField(max_length=16, choices=Order.Status.choices)
    cost_currency = models.CharField(max_length=8, blank=True)
    orders = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=24, decimal_places=MONEY_FIELD["decimal_places"], default=0)
    cost = models.DecimalField(
        max_digits=28, decimal_places=PROVIDER_MONEY_FIELD["decimal_places"], default=0
    )
    costed = models.BigIntegerField(default=0, help_text="Orders with a cost (of the others it is unknown).")
    completion = models.DurationField(default=timedelta(0), help_text="Sent to finished, summed.")
    timed = models.BigIntegerField(default=0, help_text="Orders sent and finished.")

    class Meta:
        abstract = True


class OrderTally(OrderTallyFigures):
    """The orders' figures by day: every order in exactly one row, by its state as of the last fold. Only
    ``orders.tally`` writes it; the triggers of ``OrderTallyChange`` feed it."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "provider", "service", "status", "cost_currency"], name="one_tally_per_group"
            )
        ]

    def __str__(self) -> str:
        return f"{self.orders} {self.status} orders of {self.day}"


class OrderTallyChange(OrderTallyFigures):
    """A change of the orders' figures not folded into ``OrderTally`` yet: written by database triggers on
    ``orders_order`` — an order's figures added when it is inserted, taken away when it is deleted, both
    when a column they depend on changes — so that no write, however made (the ORM, bulk updates, raw
    SQL), is left out. Append-only until folded; ``orders`` is +1 or -1."""

    created_at = models.DateTimeField(help_text="The order's.")

    def __str__(self) -> str:
        return f"{self.orders:+} {self.status} order placed {self.created_at}"
