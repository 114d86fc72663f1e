from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from orders.models import (
    CurrencyRate,
    CustomerPricing,
    CustomerServicePrice,
    MarkupRule,
    Order,
    OrderEvent,
    Refill,
    Service,
)
from orders.services import OrderRefused, order_attach_provider_id, order_fail_and_refund, order_resend
from orders.storefront import services_publish_selected
from panels.admin import ProviderServiceAdmin
from panels.models import ProviderService
from reseller.admin_tools import ReadOnlyInline


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


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "message", "actor"]


class RefillInline(ReadOnlyInline):
    model = Refill
    fields = ["created_at", "status", "provider_refill_id", "provider_status", "message"]


class AttachProviderIdForm(forms.Form):
    provider_order_id = forms.CharField(max_length=64, label="The provider's order id")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "service",
        "link",
        "units",
        "charge",
        "refunded",
        "status",
        "provider",
        "provider_order_id",
    ]
    list_filter = ["status", "provider", "type", "created_at"]
    search_fields = ["=id", "link", "provider_order_id", "user__username"]
    list_select_related = ["user", "service", "provider"]
    date_hierarchy = "created_at"
    inlines = [OrderEventInline, RefillInline]
    actions = ["resend", "refund"]
    change_form_template = "admin/orders/order/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # An order is a record of what happened: operators act on it through the actions, never by editing.
        return [field.name for field in Order._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        no_saving = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **no_saving})

    def _each(self, request, queryset, operation, done: str):
        for order in queryset:
            try:
                operation(order)
            except (OrderRefused, ValidationError) as error:
                self.message_user(request, f"Order #{order.pk}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Order #{order.pk}: {done}", messages.SUCCESS)

    @admin.action(description="Resend (I checked: the provider has no such order)")
    def resend(self, request, queryset):
        self._each(
            request, queryset, lambda order: order_resend(order=order, actor=request.user), "sent again."
        )

    @admin.action(description="Refund in full (never placed upstream)")
    def refund(self, request, queryset):
        reason = "The operator confirmed the order was never placed upstream."
        self._each(
            request,
            queryset,
            lambda order: order_fail_and_refund(order=order, actor=request.user, reason=reason),
            "refunded.",
        )

    def get_urls(self):
        attach = self.admin_site.admin_view(self.attach_view)
        return [path("<int:pk>/attach/", attach, name="orders_order_attach"), *super().get_urls()]

    def attach_view(self, request, pk):
        if not self.has_change_permission(request):
            return redirect("admin:index")
        order = get_object_or_404(Order, pk=pk)
        form = AttachProviderIdForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                order_attach_provider_id(
                    order=order, provider_order_id=form.cleaned_data["provider_order_id"], actor=request.user
                )
            except (OrderRefused, IntegrityError) as error:
                form.add_error(
                    "provider_order_id",
                    str(error)
                    if isinstance(error, OrderRefused)
                    else "Another order already has this provider id.",
                )
            else:
                self.message_user(request, f"Order #{order.pk} is followed from now on.", messages.SUCCESS)
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Attach the provider's id to order #{order.pk}",
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order/attach.html", context)


class PublishForm(forms.Form):
    percent = forms.DecimalField(max_digits=7, decimal_places=2, initial=Decimal(50), label="Markup (%)")
    fixed = forms.DecimalField(max_digits=16, decimal_places=4, initial=Decimal(0), label="Plus, per 1000")
    rounding = forms.ChoiceField(choices=MarkupRule.Rounding.choices, initial=MarkupRule.Rounding.CENT)


# The storefront adds its "publish" step to the provider-service list; panels knows nothing of orders.
admin.site.unregister(ProviderService)


@admin.register(ProviderService)
class PublishingProviderServiceAdmin(ProviderServiceAdmin):
    actions = [*ProviderServiceAdmin.actions, "publish"]

    @admin.action(description="Publish on the storefront…")
    def publish(self, request, queryset):
        form = PublishForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            result = services_publish_selected(provider_services=queryset, **form.cleaned_data)
            self.message_user(request, f"Storefront: {result.summary()}.", messages.SUCCESS)
            for reason in result.skipped:
                self.message_user(request, f"Skipped {reason}", messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Publish on the storefront",
            "form": form,
            "services": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return render(request, "admin/orders/publish.html", context)
