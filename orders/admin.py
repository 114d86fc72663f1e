from django.contrib import admin, messages

from orders.models import CurrencyRate, CustomerPricing, CustomerServicePrice, MarkupRule, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "category",
        "type",
        "price",
        "cost",
        "min_quantity",
        "max_quantity",
        "status",
        "manual_price",
        "provider",
    ]
    list_filter = ["status", "type", "manual_price", "provider_service__provider", "category"]
    search_fields = ["name", "category", "provider_service__remote_id", "provider_service__name"]
    list_select_related = ["provider_service__provider"]
    raw_id_fields = ["provider_service"]
    readonly_fields = ["paused_by_sync", "created_at", "updated_at"]
    actions = ["pause", "resume"]

    @admin.display(description="Provider")
    def provider(self, service):
        return f"{service.provider_service.provider} #{service.provider_service.remote_id}"

    @admin.display(description="Cost / 1000")
    def cost(self, service):
        upstream = service.provider_service
        return f"{upstream.rate.normalize():f} {upstream.provider.currency}"

    @admin.action(description="Disable (stop selling)")
    def pause(self, request, queryset):
        count = queryset.update(status=Service.Status.DISABLED, paused_by_sync=False)
        self.message_user(request, f"{count} services disabled.", messages.SUCCESS)

    @admin.action(description="Put back on sale")
    def resume(self, request, queryset):
        count = queryset.filter(provider_service__active=True).update(
            status=Service.Status.ACTIVE, paused_by_sync=False, pause_reason=""
        )
        self.message_user(request, f"{count} services on sale (services missing upstream stay paused).")


@admin.register(MarkupRule)
class MarkupRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "provider", "category", "provider_service", "percent", "fixed", "rounding"]
    list_filter = ["provider"]
    raw_id_fields = ["provider_service"]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "rate", "updated_at"]


@admin.register(CustomerServicePrice)
class CustomerServicePriceAdmin(admin.ModelAdmin):
    list_display = ["user", "service", "price"]
    search_fields = ["user__username", "service__name"]
    raw_id_fields = ["user", "service"]


@admin.register(CustomerPricing)
class CustomerPricingAdmin(admin.ModelAdmin):
    list_display = ["user", "discount_percent"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
