"""A customer's own settings beyond Django's user (time zone, language of mails), and whether their
sign-up is confirmed."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

TIMEZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


def validate_timezone(value: str) -> None:
    if value not in TIMEZONES:
        raise ValidationError(_("Unknown time zone."))


def language_choices() -> list[tuple[str, str]]:
    """The languages offered (settings.LANGUAGES), read when asked: adding one needs no migration."""
    return list(settings.LANGUAGES)


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    # The language of the mails the panel sends them (notifications.customers renders them in it).
    language = models.CharField(_("language"), max_length=16, choices=language_choices, default="en")
    # The currency the storefront shows amounts in (storefront.money); empty: the panel's. For display only.
    display_currency = models.CharField(_("display currency"), max_length=8, blank=True, default="")
    # Signed up on the storefront, the email link not followed yet: the user cannot log in (is_active False)
    # and another sign-up with the same email replaces this one.
    awaiting_confirmation = models.BooleanField(_("awaiting email confirmation"), default=False)

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone})"
