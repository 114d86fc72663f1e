"""What was told to whom: one ``Notification`` per customer event (its key is the dedupe), customers' switches
(``CustomerPreferences``), the operator's settings (``OperatorSettings``, one row) and the quiet periods of
operator alerts (``OperatorAlert``, one row per kind and subject)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField

from billing.money import MONEY_FIELD
from notifications.kinds import CustomerKind, OperatorKind


class Notification(models.Model):
    """A customer notification of one event — a kind, an object, a state (``order:12:Completed``). Written in
    the event's transaction under a unique key, so the event is told once however often it is announced;
    the worker claims it (pending → sending) before sending, so a retried task never mails it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"

    kind = models.CharField(max_length=32, choices=CustomerKind.choices)
    key = models.CharField(max_length=200, unique=True, help_text="The event: kind, object and state.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    target_id = models.BigIntegerField(null=True, blank=True, help_text="The order, refill, top-up… told of.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    detail = models.CharField(max_length=255, blank=True, help_text="Why it was skipped, or the last error.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.user} ({self.get_status_display()})"


class CustomerPreferences(models.Model):
    """A customer's mail switches (every kind on until they turn it off) and low-balance threshold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    muted = models.JSONField(default=list, blank=True, help_text="The kinds of mail turned off.")
    low_balance_threshold = models.DecimalField(
        _("low balance threshold"),
        **MONEY_FIELD,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Mail me when my balance falls below this amount. Empty: never."),
    )
    # Told the balance is below the threshold; cleared once it is back at or above it, so that each fall
    # below is told once.
    low_balance_told = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "customer preferences"

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"

    def wants(self, kind: str) -> bool:
        return kind not in self.muted


def every_operator_kind() -> list[str]:
    return list(OperatorKind.values)


class OperatorSettings(models.Model):
    """Where operator alerts go, which go where, and when a condition is alarming. One row
    (``operator_settings()``); the console's *Notification settings*, the Owner's."""

    email_kinds = models.JSONField(
        "by email", default=every_operator_kind, blank=True, help_text="The alerts sent by email."
    )
    telegram_kinds = models.JSONField(
        "by Telegram", default=every_operator_kind, blank=True, help_text="The alerts sent to Telegram."
    )
    email_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True, "is_active": True},
        verbose_name="email to",
        help_text="Staff who receive alert mails. None chosen: the addresses in DJANGO_ADMINS.",
    )
    # Encrypted at rest like the providers' keys; never shown back, never logged (it is in the URL's path).
    telegram_bot_token = EncryptedCharField("Telegram bot token", max_length=200, blank=True, null=True)
    telegram_chat_id = models.CharField(
        "Telegram chat id",
        max_length=64,
        blank=True,
        help_text="The chat, group or channel the bot posts to (a number; @name for a public channel).",
    )
    quiet_minutes = models.PositiveIntegerField(
        "quiet period (minutes)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="After an alert, the same alert about the same thing (the same provider…) is held back "
        "this long: one outage, one message.",
    )
    error_rate_percent = models.PositiveSmallIntegerField(
        "provider error rate (%)",
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Alert when this share of a provider's calls in the last hour failed…",
    )
    error_min_calls = models.PositiveIntegerField(
        "…of at least this many failed calls",
        default=5,
        validators=[MinValueValidator(1)],
        help_text="so that one failed call of a quiet provider is no alarm.",
    )
    review_queue_threshold = models.PositiveIntegerField(
        "review queue",
        default=10,
        validators=[MinValueValidator(1)],
        help_text="Alert when this many orders and refills wait for an operator.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return "Notification settings"

    def sends(self, kind: str, channel: str) -> bool:
        return kind in (self.email_kinds if channel == "email" else self.telegram_kinds)


class OperatorAlert(models.Model):
    """An alert about one thing (a provider, the queue…): when it was last sent, and how many times it was
    raised since within the quiet period, held back."""

    kind = models.CharField(max_length=32, choices=OperatorKind.choices)
    subject = models.CharField(max_length=100, help_text="What it is about: provider:3, queue, topup:12…")
    text = models.TextField(help_text="The last message.")
    raised_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    held_back = models.PositiveIntegerField(default=0, help_text="Raised again within the quiet period.")

    class Meta:
        ordering = ["-raised_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "subject"], name="one_alert_per_subject")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.subject})"
