from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One operator action: who did what to which object, from what to what, and why. Written only by
    ``audit.services.audit_record`` in the transaction of the change itself; never a secret's value."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # None: a management command (or a customer's own action with no staff user). The name stays when the
    # user is deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    # "<app>.<model>.<verb>": "catalogue.service.take_off_sale", "panels.provider.change".
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, verbose_name="object type"
    )
    target_id = models.CharField("object id", max_length=64, blank=True)
    target_repr = models.CharField("object", max_length=200, blank=True)
    # {field: [before, after]}; a secret's values are replaced by SECRET_BEFORE / SECRET_AFTER.
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]
        permissions = [("view_everyones_auditentry", "Can see every operator's audit entries")]

    def __str__(self) -> str:
        return f"{self.action} of {self.target_repr or '—'} by {self.actor_name or 'a command'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("An audit entry is written once and never changed.")
        super().save(*args, **kwargs)
