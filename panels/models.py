"""Upstream providers, the local mirror of their catalogues, and the record of every call to them."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from encrypted_fields.fields import EncryptedCharField

from billing.money import PROVIDER_MONEY_FIELD

# Provider money: rates per 1000 can be fractions of a cent, balances large.


class Provider(models.Model):
    class KeyHeader(models.TextChoices):
        NONE = "", "In the form body only (standard)"
        X_API_KEY = "X-Api-Key", "Also in an X-Api-Key header"
        AUTHORIZATION = "Authorization", "Also as Authorization: Bearer"

    class Dripfeed(models.TextChoices):
        DOCUMENTED = "documented", "On Default services unless the provider says no (as documented)"
        NEVER = "never", "Never (unless a storefront service says on)"

    name = models.CharField(max_length=100, unique=True)
    api_url = models.URLField(
        "API URL", max_length=500, help_text="The endpoint, with or without /api/v2 (both are accepted)."
    )
    # Encrypted at rest (Fernet, keyed from SECRET_KEY + FIELD_ENCRYPTION_SALT); never rendered back.
    api_key = EncryptedCharField("API key", max_length=500)
    key_header = models.CharField(max_length=20, choices=KeyHeader.choices, blank=True, default="")
    enabled = models.BooleanField(
        default=True, help_text="Disabled providers are neither synced nor sent orders."
    )

    currency = models.CharField(max_length=8, blank=True, help_text="As reported by the last balance call.")
    balance = models.DecimalField(**PROVIDER_MONEY_FIELD, null=True, blank=True, editable=False)
    balance_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    low_balance_threshold = models.DecimalField(
        **PROVIDER_MONEY_FIELD,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text="Below this balance the provider is flagged for the operator.",
    )

    connect_timeout = models.DecimalField(
        "connect timeout (s)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    read_timeout = models.DecimalField(
        "read timeout (s)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("30"),
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    calls_per_minute = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text="Calls a minute to this provider, shared by all workers. Sending orders uses up to nine "
        "tenths of them; the rest is kept for status syncs, refills, cancels and balance checks.",
    )
    send_concurrency = models.PositiveSmallIntegerField(
        "orders sent at once",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(32)],
        help_text="Orders in flight to this provider at once: however slowly it answers, its orders never "
        "hold more worker threads than this.",
    )
    dripfeed = models.CharField(
        "drip-feed",
        max_length=16,
        choices=Dripfeed.choices,
        default=Dripfeed.DOCUMENTED,
        help_text="Whether Default services whose catalogue entry says nothing about drip-feed accept "
        "runs and interval. A provider's explicit yes or no always applies.",
    )
    notes = models.TextField(blank=True)

    # The circuit breaker (panels/health.py): routing skips a provider marked down. Automatically for a
    # cool-off, after which one trial call decides; or by an operator until they mark it up.
    down_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Marked down by the breaker until then."
    )
    down_by_hand = models.BooleanField(
        default=False, editable=False, help_text="Marked down by an operator, until one marks it up."
    )
    down_reason = models.CharField(max_length=255, blank=True, editable=False)
    trial_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="A trial call after the cool-off is under way."
    )
    up_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the breaker last closed: failures before it are not counted again.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_key(self) -> str:
        """Enough of the key to recognise it, never enough to use it."""
        key = self.api_key or ""
        return f"••••{key[-4:]}" if len(key) >= 12 else "••••"

    @property
    def is_low_balance(self) -> bool:
        return self.balance is not None and self.balance < self.low_balance_threshold


class ProviderService(models.Model):
    """One entry of a provider's catalogue, mirrored by the catalogue sync. Never deleted."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="services")
    remote_id = models.CharField("provider's service id", max_length=64)
    name = models.CharField(max_length=500)
    type = models.CharField(max_length=64, default="Default")
    category = models.CharField(max_length=255, blank=True)
    rate = models.DecimalField(
        **PROVIDER_MONEY_FIELD, help_text="Provider's price per 1000, in the provider's currency."
    )
    min_quantity = models.PositiveBigIntegerField("min")
    max_quantity = models.PositiveBigIntegerField("max")
    refill = models.BooleanField(default=False)
    cancel = models.BooleanField(default=False)
    # None: the provider's answer did not say (the two seed documents never do).
    dripfeed = models.BooleanField(null=True, blank=True, help_text="Empty: not stated by the provider.")
    description = models.TextField(blank=True)
    raw = models.JSONField(default=dict, help_text="The record exactly as the provider sent it.")

    active = models.BooleanField(default=True, help_text="False while the service is missing upstream.")
    is_new = models.BooleanField(default=True, help_text="Appeared upstream and not yet reviewed.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    vanished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The fields the catalogue sync copies from the provider.
    MIRRORED_FIELDS = (
        "name",
        "type",
        "category",
        "rate",
        "min_quantity",
        "max_quantity",
        "refill",
        "cancel",
        "dripfeed",
        "description",
        "raw",
    )
    # Changes of these are kept as history.
    TRACKED_FIELDS = ("rate", "min_quantity", "max_quantity")

    class Meta:
        ordering = ["provider", "category", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "remote_id"], name="unique_remote_service_per_provider"
            ),
        ]
        indexes = [models.Index(fields=["provider", "active"])]

    def __str__(self) -> str:
        return f"{self.provider} #{self.remote_id} {self.name}"


class ProviderServiceChange(models.Model):
    """A change of rate, min or max seen by a catalogue sync: the cost history of a service."""

    service = models.ForeignKey(ProviderService, on_delete=models.CASCADE, related_name="changes")
    sync_run = models.ForeignKey("SyncRun", on_delete=models.SET_NULL, null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    old_rate = models.DecimalField(**PROVIDER_MONEY_FIELD)
    new_rate = models.DecimalField(**PROVIDER_MONEY_FIELD)
    old_min = models.PositiveBigIntegerField()
    new_min = models.PositiveBigIntegerField()
    old_max = models.PositiveBigIntegerField()
    new_max = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.service}: {self.old_rate} → {self.new_rate}"


class SyncRun(models.Model):
    """One run of a catalogue or balance sync, with what it changed or why it failed."""

    class Kind(models.TextChoices):
        CATALOGUE = "catalogue", "Catalogue"
        BALANCE = "balance", "Balance"
        STATUS = "status", "Order statuses"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="Empty while running.")
    error = models.TextField(blank=True)
    summary = models.CharField(max_length=500, blank=True)
    created = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    paused = models.PositiveIntegerField(default=0)
    resumed = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["provider", "kind", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync of {self.provider} at {self.started_at:%Y-%m-%d %H:%M}"


class ProviderCall(models.Model):
    """Every HTTP call made to a provider, for the operator. The key is never stored."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        REJECTED = "rejected", "Rejected"
        UNAVAILABLE = "unavailable", "Unavailable (nothing sent)"
        UNKNOWN = "unknown", "Outcome unknown"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="calls")
    action = models.CharField(max_length=32)
    params = models.JSONField(default=dict)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["provider", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action} → {self.outcome} ({self.provider})"
