"""The operator's pages for what customers are told: announcements (Support may post them), the service
updates (written by the catalogue; the Owner may remove a misprint's) and the terms, FAQ and privacy pages.
Every save and delete is in the audit trail (``audit.admin`` wraps every model page)."""

from django.contrib import admin
from django.db.models import Count
from django.utils import timezone

from content.models import Announcement, Page, ServiceUpdate
from reseller.admin_tools import ReadOnlyAdmin
from reseller.markdown import markdown_html


class RenderedPreview:
    """The body as customers will see it (after saving), beside the Markdown."""

    @admin.display(description="As customers see it")
    def preview(self, obj):
        return markdown_html(obj.body) if obj is not None and obj.pk else "—"


@admin.register(Announcement)
class AnnouncementAdmin(RenderedPreview, admin.ModelAdmin):
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
class PageAdmin(RenderedPreview, admin.ModelAdmin):
    list_display = ["title", "slug", "updated_at"]
    fields = ["slug", "title", "body", "preview", "updated_at"]
    readonly_fields = ["preview", "updated_at"]
