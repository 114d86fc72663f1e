"""What the operator tells customers: announcements on the dashboard, the service updates page (written by
the catalogue's sync and repricing, never by hand) and the terms, FAQ and privacy pages."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from billing.money import MONEY_FIELD
from catalogue.models import Service


class Announcement(models.Model):
    """A message on every customer's dashboard between ``starts_at`` and ``ends_at``; each customer may
    dismiss it. ``public``: also on the home page, for visitors not signed in."""

    class Severity(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"
        IMPORTANT = "important", "Important"

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Markdown. Scripts, styles and unsafe links are removed.")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    pinned = models.BooleanField(default=False, help_text="Shown above the others, newest first among them.")
    public = models.BooleanField(
        default=False, help_text="Also on the home page, for visitors not signed in."
    )
    starts_at = models.DateTimeField(default=timezone.now, help_text="Not shown before this time.")
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Not shown after this time; empty: until removed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pinned", "-starts_at", "-pk"]
        indexes = [models.Index(fields=["starts_at"], name="announcement_starts")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="announcement_ends_after_it_starts",
                violation_error_message="An announcement ends after it starts.",
            )
        ]

    def __str__(self) -> str:
        return self.title


class AnnouncementDismissal(models.Model):
    """A customer no longer wants to see an announcement."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="one_dismissal_per_customer")
        ]

    def __str__(self) -> str:
        return f"{self.user} dismissed {self.announcement}"


class ServiceUpdate(models.Model):
    """Something customers should know about a storefront service, as it happened: its price went up or
    down (the storefront price, never a cost), it went on or off sale, it was published. Written only by
    ``content.services.service_updates_record``."""

    class Kind(models.TextChoices):
        NEW = "new", pgettext_lazy("service update", "New service")
        PRICE_UP = "price_up", pgettext_lazy("service update", "Price up")
        PRICE_DOWN = "price_down", pgettext_lazy("service update", "Price down")
        ON_SALE = "on_sale", pgettext_lazy("service update", "Back on sale")
        OFF_SALE = "off_sale", pgettext_lazy("service update", "Taken off sale")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    old_price = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    new_price = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="service_update_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.service} ({self.created_at:%Y-%m-%d})"


class Page(models.Model):
    """A page the operator writes, at a fixed address. Until written it does not exist: its address
    answers 404 and no link leads to it."""

    class Slug(models.TextChoices):
        TERMS = "terms", "Terms of service"
        FAQ = "faq", "FAQ"
        PRIVACY = "privacy", "Privacy policy"

    slug = models.CharField(
        max_length=16, choices=Slug.choices, unique=True, help_text="Its address: /terms/, /faq/, /privacy/."
    )
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown. Scripts, styles and unsafe links are removed.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(f"content:{self.slug}")


HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour as #rrggbb, for example #0b5cad.")


class Branding(models.Model):
    """How the panel presents itself: one row (``pk`` 1), set by the Owner in the console and read through
    ``content.branding.branding_current`` (cached; a save forgets the cached copy). The images are kept in
    the database — there is no media storage to serve them from — and were checked by their content on upload
    (``content.branding.image_checked``); ``logo`` and ``favicon`` describe them for people and the audit
    trail."""

    panel_name = models.CharField(
        max_length=60,
        default="Reseller panel",
        help_text="In the header, page titles, mails and the console.",
    )
    logo = models.CharField(max_length=200, blank=True)
    logo_image = models.BinaryField(default=b"", editable=False)
    logo_type = models.CharField(max_length=32, blank=True, editable=False)
    favicon = models.CharField(max_length=200, blank=True)
    favicon_image = models.BinaryField(default=b"", editable=False)
    favicon_type = models.CharField(max_length=32, blank=True, editable=False)
    accent_colour = models.CharField(
        max_length=7, default="#0b5cad", validators=[HEX_COLOUR], help_text="Links, buttons; #rrggbb."
    )
    background_colour = models.CharField(
        max_length=7, default="#ffffff", validators=[HEX_COLOUR], help_text="The page's background; #rrggbb."
    )
    footer_text = models.TextField(
        blank=True,
        help_text="Markdown, under every storefront page. Scripts, styles and unsafe links are removed.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "branding"
        verbose_name_plural = "branding"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="branding_is_one_row")]

    def __str__(self) -> str:
        return self.panel_name

    def save(self, *args, **kwargs):
        from content.branding import branding_forget

        self.pk = 1
        super().save(*args, **kwargs)
        # Forgotten now, and again after the commit: a reader in between would cache the old row again.
        branding_forget()
        transaction.on_commit(branding_forget)
