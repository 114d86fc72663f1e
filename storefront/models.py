from django.conf import settings
from django.db import models
from django.utils import timezone


class FormSubmission(models.Model):
    """A rendered form's one-time token, recorded by the first POST that carries it with what that POST did.

    A double click or a resubmitted page sends the same token again: the unique constraint makes the repeat
    wait for the first and then find this row, so it shows the first result instead of acting twice.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    form = models.CharField(max_length=32, help_text="Which form: order, mass-order, top-up.")
    outcome = models.JSONField(default=dict, help_text="What the first POST did, e.g. the order's id.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "token"], name="one_submission_per_form_token"),
        ]

    def __str__(self) -> str:
        return f"{self.form} {self.token[:8]}… of {self.user_id}"
