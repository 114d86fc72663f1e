"""The operator's pages for what customers are told: announcements (Support may post them), the service
updates (written by the catalogue; the Owner may remove a misprint's) and the terms, FAQ and privacy pages.
Every save and delete is in the audit trail (``audit.admin`` wraps every model page)."""

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.utils import timezone

from content.branding import branding_row, image_checked, image_described
from content.models import Announcement, Branding, Page, ServiceUpdate
from reseller.admin_tools import ModelAdmin, ReadOnlyAdmin, SingletonAdmin
from reseller.markdown import markdown_html


class RenderedPreview:
    """The body as customers will see it (after saving), beside the Markdown."""

    @admin.display(description="As customers see it")
    def preview(self, obj):
        return markdown_html(obj.body) if obj is not None and obj.pk else "—"


@admin.register(Announcement)
class AnnouncementAdmin(RenderedPreview, ModelAdmin):
    list_display = ["title", "severity", "pinned", "public", "starts_at", "ends_at", "live", "dismissed_by"]
    list_filter = ["severity", "pinned", "public"]
    search_fields = ["title", "body"]
    date_hierarchy = "starts_at"
    fields = [
        "title",
        "body",
        "preview",
        "severity",
        "pinned",
        "public",
        "starts_at",
        "ends_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["preview", "created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(dismissal_count=Count("dismissals"))

    @admin.display(description="Shown now", boolean=True)
    def live(self, announcement):
        now = timezone.now()
        return announcement.starts_at <= now and (announcement.ends_at is None or announcement.ends_at > now)

    @admin.display(description="Dismissed by", ordering="dismissal_count")
    def dismissed_by(self, announcement):
        return announcement.dismissal_count


@admin.register(ServiceUpdate)
class ServiceUpdateAdmin(ReadOnlyAdmin):
    """Written by the catalogue's sync, publishing and repricing, never by hand; deleting one (a price
    mistyped and put right) takes it off the customers' page."""

    list_display = ["created_at", "service", "kind", "old_price", "new_price"]
    list_filter = ["kind", "service__category"]
    search_fields = ["service__name", "=service__id"]
    list_select_related = ["service"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(Page)
class PageAdmin(RenderedPreview, ModelAdmin):
    list_display = ["title", "slug", "updated_at"]
    fields = ["slug", "title", "body", "preview", "updated_at"]
    readonly_fields = ["preview", "updated_at"]


class BrandingForm(forms.ModelForm):
    """The logo and favicon are uploaded files, checked by their content (``image_checked``); the model keeps
    their bytes and a description, which is what the audit trail records as changed."""

    logo = forms.FileField(required=False, help_text="PNG, JPEG, GIF or WebP, up to 512 KB. SVG is refused.")
    remove_logo = forms.BooleanField(required=False, help_text="Show the panel name instead of a logo.")
    favicon = forms.FileField(
        required=False, help_text="ICO, PNG, GIF or WebP, up to 512 KB. Empty: the panel's default icon."
    )
    remove_favicon = forms.BooleanField(required=False, help_text="Back to the panel's default icon.")

    class Meta:
        model = Branding
        fields = ["panel_name", "accent_colour", "background_colour", "footer_text"]
        widgets = {
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
            "background_colour": forms.TextInput(attrs={"type": "color"}),
        }

    def clean(self):
        cleaned = super().clean()
        for name, icon in (("logo", False), ("favicon", True)):
            upload = cleaned.pop(name, None)
            if isinstance(upload, UploadedFile):  # else the description stored (the form's initial)
                try:
                    data, content_type = image_checked(upload, icon=icon)
                except forms.ValidationError as error:
                    self.add_error(name, error)
                    continue
                self._image_set(name, data, content_type, image_described(upload, data, content_type))
            elif cleaned.get(f"remove_{name}"):
                self._image_set(name, b"", "", "")
            # The model's field is the image's description: kept, or the new image's.
            cleaned[name] = getattr(self.instance, name)
        return cleaned

    def _image_set(self, name: str, data: bytes, content_type: str, description: str) -> None:
        # The bytes and type are not form fields: set on the instance, saved with the rest.
        setattr(self.instance, f"{name}_image", data)
        setattr(self.instance, f"{name}_type", content_type)
        setattr(self.instance, name, description)


@admin.register(Branding)
class BrandingAdmin(SingletonAdmin):
    """The panel's name, logo, favicon, colours and footer: the Owner's (Support has no permission on it)."""

    singleton = staticmethod(branding_row)
    form = BrandingForm
    list_display = ["panel_name", "accent_colour", "background_colour", "updated_at"]
    fieldsets = [
        (None, {"fields": ["panel_name", "footer_text"]}),
        (
            "Images",
            {
                "fields": [
                    "current_logo",
                    "logo",
                    "remove_logo",
                    "current_favicon",
                    "favicon",
                    "remove_favicon",
                ]
            },
        ),
        ("Colours", {"fields": ["accent_colour", "background_colour"]}),
        (None, {"fields": ["updated_at"]}),
    ]
    readonly_fields = ["current_logo", "current_favicon", "updated_at"]

    @admin.display(description="Logo now")
    def current_logo(self, branding):
        return branding.logo or "— (the panel name is shown)"

    @admin.display(description="Favicon now")
    def current_favicon(self, branding):
        return branding.favicon or "— (the panel's default icon)"
