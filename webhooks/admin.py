"""The operator's view of customers' webhooks (their secrets never shown), the delivery log, and
"Register webhook" on providers that are panels of this software."""

from django.contrib import admin, messages

from audit.services import audit_record
from orders.admin import StatusSyncingProviderAdmin
from panels.models import Provider
from reseller.admin_tools import ModelAdmin, ReadOnlyAdmin
from webhooks.models import Delivery, Endpoint, UpstreamWebhook
from webhooks.services import endpoint_remove, endpoint_rotate
from webhooks.upstream import RegistrationFailed, upstream_register


@admin.register(Endpoint)
class EndpointAdmin(ModelAdmin):
    """Changed only by its actions, each audited; the URL is the customer's to set."""

    list_display = ["user", "url", "created_at", "secret_rotated_at"]
    search_fields = ["user__username", "url"]
    fields = readonly_fields = ["user", "url", "created_at", "secret_rotated_at"]
    actions = ["rotate_secret", "remove"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        no_saving = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **no_saving})

    @admin.action(
        description="Rotate the signing secret (the customer makes a new one to see it)",
        permissions=["change"],
    )
    def rotate_secret(self, request, queryset):
        for endpoint in queryset.select_related("user"):
            endpoint_rotate(user=endpoint.user, actor=request.user)
            self.message_user(request, f"{endpoint}: new secret made; the old one no longer signs.")

    @admin.action(description="Remove the webhook", permissions=["change"])
    def remove(self, request, queryset):
        for endpoint in queryset.select_related("user"):
            endpoint_remove(user=endpoint.user, actor=request.user)
            self.message_user(request, f"{endpoint}: removed.")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["msg_id", "endpoint", "event_type", "status", "attempts", "response_code", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["msg_id", "endpoint__user__username"]


@admin.register(UpstreamWebhook)
class UpstreamWebhookAdmin(ReadOnlyAdmin):
    list_display = ["provider", "url", "registered_at", "last_received_at"]
    fields = ["provider", "url", "registered_at", "last_received_at"]


# Providers that are panels of this software: "Register webhook" beside the orders' "Sync order statuses".
admin.site.unregister(Provider)


@admin.register(Provider)
class WebhookRegisteringProviderAdmin(StatusSyncingProviderAdmin):
    actions = [*StatusSyncingProviderAdmin.actions, "register_webhook"]

    @admin.action(
        description="Register webhook (the provider is a panel like this one)", permissions=["change"]
    )
    def register_webhook(self, request, queryset):
        for provider in queryset:
            try:
                hook = upstream_register(provider=provider, actor=request.user)
            except RegistrationFailed as error:
                audit_record(actor=request.user, verb="register_webhook", target=provider, reason=str(error))
                self.message_user(request, f"{provider.name}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{provider.name}: webhook registered at {hook.url}.", messages.SUCCESS
                )
