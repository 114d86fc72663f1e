"""Webhooks: a customer's callback URL, every event queued for it (the outbox), and an upstream panel's
webhook registered by this panel."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext_lazy
from encrypted_fields.fields import EncryptedCharField

from panels.models import Provider


class Endpoint(models.Model):
    """Where a customer wants their orders' and refills' status changes POSTed. One per customer."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField("URL", max_length=500)
    # Encrypted at rest, as providers' keys; shown to the customer once, when made.
    secret = EncryptedCharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Webhook of {self.user}"


class Delivery(models.Model):
    """One event for one endpoint, written in the transaction of the change it tells (nothing is lost if a
    worker dies), and the record of sending it: the customer's delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    msg_id = models.CharField("webhook-id", max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    # Events of one order (and its refills) go out in the order they happened; empty: no order (a test).
    subject = models.CharField(max_length=40, blank=True)
    payload = models.TextField(help_text="The JSON body, exactly as signed and sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=200, blank=True, help_text="Why the last attempt failed.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The sender's queue: what is due, however long the log.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"
            ),
            # The ordering rule: an earlier undelivered event of the same order holds the later ones back.
            models.Index(
                fields=["endpoint", "subject", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_subject",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
            models.Index(fields=["created_at"], name="webhook_delivery_created"),  # the prune
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class UpstreamWebhook(models.Model):
    """This panel's webhook at a provider that is another panel of this software: the secret it answered
    with, to verify what it sends (polling stays the fallback)."""

    provider = models.OneToOneField(Provider, on_delete=models.CASCADE, related_name="upstream_webhook")
    url = models.URLField("our URL registered there", max_length=500)
    secret = EncryptedCharField(max_length=200)
    registered_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Webhook at {self.provider}"
