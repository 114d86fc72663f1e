"""Customers' API keys (stored hashed) and the log of what each key asked."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKey(models.Model):
    """A customer's key for API v2 and the REST API: "prefix.secret". Only a SHA-512 of it is stored
    (djangorestframework-api-key's hasher); the ``prefix`` identifies it in pages and logs."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    hashed_key = models.CharField(max_length=150, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="one_live_api_key_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class ApiRequest(models.Model):
    """One call made with a key: what was asked and how it ended. Never the key, never the body."""

    class Interface(models.TextChoices):
        V2 = "v2", "API v2"
        REST = "rest", "REST API"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_requests")
    interface = models.CharField(max_length=8, choices=Interface.choices)
    action = models.CharField(max_length=64, help_text="The API v2 action, or the REST method and path.")
    http_status = models.PositiveSmallIntegerField()
    error = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_interface_display()} {self.action} ({self.http_status})"
