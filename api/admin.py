from django.contrib import admin, messages

from api.models import ApiKey, ApiRequest
from api.services import api_keys_revoke
from reseller.admin_tools import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are made by customers (or ``manage.py createapikey``); the operator sees and revokes them."""

    list_display = ["prefix", "user", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "user__username", "user__email"]
    list_select_related = ["user"]
    fields = ["prefix", "user", "created_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        count = api_keys_revoke(queryset, actor=request.user)
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        # The revoke action needs the change permission; the form itself stays read-only.
        return request.user.has_perm("api.change_apikey")


@admin.register(ApiRequest)
class ApiRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "user",
        "api_key",
        "interface",
        "action",
        "http_status",
        "error",
        "duration_ms",
        "ip",
    ]
    list_filter = ["interface", "http_status", "created_at"]
    search_fields = ["user__username", "api_key__prefix", "action", "error"]
    list_select_related = ["user", "api_key"]
    date_hierarchy = "created_at"
