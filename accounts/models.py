"""What a customer sets for themselves beyond Django's user: their time zone."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

TIMEZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


def validate_timezone(value: str) -> None:
    if value not in TIMEZONES:
        raise ValidationError(_("Unknown time zone."))


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone})"
