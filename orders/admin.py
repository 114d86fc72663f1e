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
from orders.refills import refill_attach_provider_id, refill_close
from orders.selectors import orders_needing_review
from orders.services import (
    OrderRefused,
    order_attach_provider_id,
    order_fail_and_refund,
    order_mark_resolved,
    order_resend,
)
from orders.storefront import service_move, services_publish_selected, services_reprice
from orders.tasks import sync_order_statuses
from panels.admin import ProviderAdmin, ProviderServiceAdmin
from panels.models import Provider, ProviderService
from reseller.admin_tools import ActionForm, ActionsOnlyAdmin, ReadOnlyAdmin, ReadOnlyInline, asks


class RepriceForm(ActionForm):
    percent = forms.DecimalField(max_digits=7, decimal_places=2, min_value=Decimal(-99), label="Markup (%)")
    fixed = forms.DecimalField(max_digits=16, decimal_places=4, initial=Decimal(0), label="Plus, per 1000")
    rounding = forms.ChoiceField(choices=MarkupRule.Rounding.choices, initial=MarkupRule.Rounding.CENT)


def _upstream_label(upstream: ProviderService) -> str:
    return (
        f"{upstream.provider} #{upstream.remote_id} {upstream.name}: {upstream.rate:f} "
        f"{upstream.provider.currency} per 1000, {upstream.min_quantity} to {upstream.max_quantity}"
    )


class MoveForm(ActionForm):
    provider_service = forms.ModelChoiceField(
        queryset=ProviderService.objects.none(), label="Provider service"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        service = self.queryset.first()
        self.fields["provider_service"].queryset = (
            ProviderService.objects.filter(type=service.type, active=True)
            .exclude(pk=service.provider_service_id)
            .select_related("provider")
            .order_by("provider__name", "rate")
        )
        self.fields["provider_service"].label_from_instance = _upstream_label


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
    actions = ["pause", "resume", "reprice", "move"]

    @admin.display(description="Provider")
    def provider(self, service):
        return f"{service.provider_service.provider} #{service.provider_service.remote_id}"

    @admin.display(description="Cost / 1000")
    def cost(self, service):
        upstream = service.provider_service
        return f"{upstream.rate.normalize():f} {upstream.provider.currency}"

    @admin.action(description="Disable (stop selling)", permissions=["change"])
    def pause(self, request, queryset):
        count = queryset.update(status=Service.Status.DISABLED, paused_by_sync=False)
        self.message_user(request, f"{count} services disabled.", messages.SUCCESS)

    @admin.action(description="Put back on sale", permissions=["change"])
    def resume(self, request, queryset):
        count = queryset.filter(provider_service__active=True).update(
            status=Service.Status.ACTIVE, paused_by_sync=False, pause_reason=""
        )
        self.message_user(request, f"{count} services on sale (services missing upstream stay paused).")

    @admin.action(description="Reprice at a markup over cost…", permissions=["change"])
    @asks(
        RepriceForm,
        title="Reprice {count} service(s)",
        submit="Reprice",
        help="Each service gets its own markup rule over its provider's cost; hand-set prices go.",
    )
    def reprice(self, request, queryset, form):
        result = services_reprice(services=queryset, **form.cleaned_data)
        self.message_user(request, f"Repriced: {result.summary()}.", messages.SUCCESS)
        return None

    @admin.action(description="Sell from another provider service…", permissions=["change"])
    @asks(
        MoveForm,
        title="Sell {first} from another provider service",
        submit="Move",
        help="New orders go to the chosen provider service; placed orders stay where they were sent.",
        one_at_a_time="Choose exactly one service to move.",
    )
    def move(self, request, queryset, form):
        try:
            service = service_move(
                service=queryset.first(), provider_service=form.cleaned_data["provider_service"]
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(
                request, f"{service} is now sold from {service.provider_service}.", messages.SUCCESS
            )
        return None


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


class ReviewQueueFilter(admin.SimpleListFilter):
    """The orders of the review queue (``orders_needing_review``): unknown outcomes and stuck orders."""

    title = "needs review"
    parameter_name = "needs_review"

    def lookups(self, request, model_admin):
        return [("yes", "In the review queue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=orders_needing_review().values("pk"))
        return queryset


class ProviderCheckedForm(ActionForm):
    checked = forms.BooleanField(
        label="I searched the provider's panel for these links: it has no such order (or it was never sent)."
    )


class ResolveForm(ActionForm):
    note = forms.CharField(max_length=200, required=False, label="What you checked")


class AttachProviderIdForm(forms.Form):
    provider_order_id = forms.CharField(max_length=64, label="The provider's order id")


@admin.register(Order)
class OrderAdmin(ActionsOnlyAdmin):
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
    list_filter = [
        ReviewQueueFilter,
        "status",
        "provider",
        ("service", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        "type",
        ("cancel_requested_at", admin.EmptyFieldListFilter),
        "created_at",
    ]
    search_fields = ["=id", "link", "provider_order_id", "user__username"]
    list_select_related = ["user", "service", "provider"]
    date_hierarchy = "created_at"
    inlines = [OrderEventInline, RefillInline]
    actions = ["resend", "refund", "mark_resolved"]
    change_form_template = "admin/orders/order/change_form.html"

    refused = (OrderRefused, ValidationError)

    # The API has no idempotency key: resending an order the provider has pays for it twice. Both ask the
    # operator to confirm they searched the provider's panel first.
    @admin.action(description="Resend (I checked: the provider has no such order)…", permissions=["change"])
    @asks(
        ProviderCheckedForm,
        title="Resend {count} order(s)",
        submit="Resend",
        help="If the provider has the order already, sending it again pays for it twice.",
    )
    def resend(self, request, queryset, form):
        self.act_on_each(
            request, queryset, lambda order: order_resend(order=order, actor=request.user), "sent again."
        )
        return None

    @admin.action(description="Refund in full (never placed upstream)…", permissions=["change"])
    @asks(
        ProviderCheckedForm,
        title="Refund {count} order(s)",
        submit="Refund",
        help="If the provider has the order, it delivers it and charges you while the customer gets their "
        "money back.",
    )
    def refund(self, request, queryset, form):
        reason = "The operator confirmed the order was never placed upstream."
        self.act_on_each(
            request,
            queryset,
            lambda order: order_fail_and_refund(order=order, actor=request.user, reason=reason),
            "refunded.",
        )
        return None

    @admin.action(description="Mark resolved (I checked this stuck order)…", permissions=["change"])
    @asks(
        ResolveForm,
        title="Mark {count} order(s) resolved",
        submit="Mark resolved",
        help="They leave the review queue until they get stuck again. Unknown outcomes need attach, resend "
        "or refund instead.",
    )
    def mark_resolved(self, request, queryset, form):
        note = form.cleaned_data["note"]
        self.act_on_each(
            request,
            queryset,
            lambda order: order_mark_resolved(order=order, actor=request.user, note=note),
            "marked resolved.",
        )
        return None

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

    def has_publish_permission(self, request):
        return request.user.has_perm("orders.add_service")

    @admin.action(description="Publish on the storefront…", permissions=["publish"])
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


# Order statuses are synced by orders: the provider list gets its "sync now" from here, as publishing.
admin.site.unregister(Provider)


@admin.register(Provider)
class StatusSyncingProviderAdmin(ProviderAdmin):
    actions = [*ProviderAdmin.actions, "sync_statuses"]

    @admin.action(description="Sync order statuses now", permissions=["change"])
    def sync_statuses(self, request, queryset):
        # Queued, not run here: a provider with many open orders takes longer than a request should.
        for provider in queryset:
            if not provider.enabled:
                self.message_user(request, f"{provider.name}: disabled, not synced.", messages.WARNING)
                continue
            try:
                sync_order_statuses.delay(provider.pk)
            except Exception:  # the broker is down; its error may name the broker's address and password
                message = "could not queue the sync: the task broker is not answering."
                self.message_user(request, f"{provider.name}: {message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{provider.name}: status sync queued; its result shows under Last syncs.",
                    messages.SUCCESS,
                )


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    """Every order's history in one place: status moves, provider calls, operators' resolutions."""

    list_display = ["created_at", "order", "from_status", "to_status", "message", "actor"]
    list_filter = ["to_status", ("actor", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["=order__id", "message", "order__provider_order_id"]
    list_select_related = ["order", "actor"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    list_per_page = 100


class AttachRefillIdForm(ActionForm):
    provider_refill_id = forms.CharField(max_length=64, label="The provider's refill id")


class CloseRefillForm(ActionForm):
    checked = forms.BooleanField(label="I searched the provider's refills: it has no such refill.")
    note = forms.CharField(max_length=120, required=False, label="Note for the history")


@admin.register(Refill)
class RefillAdmin(ActionsOnlyAdmin):
    """Customers' refill requests and how they ended; the operator resolves those of unknown outcome."""

    list_display = ["pk", "created_at", "order", "status", "provider_refill_id", "provider_status", "message"]
    list_filter = ["status", "created_at", "order__provider"]
    search_fields = ["=order__id", "provider_refill_id", "order__user__username"]
    list_select_related = ["order"]
    actions = ["attach", "close"]

    @admin.action(description="Attach the provider's refill id (found there)…", permissions=["change"])
    @asks(
        AttachRefillIdForm,
        title="Attach the provider's id to {first}",
        submit="Attach",
        help="Find the refill in the provider's panel for this order; from now on it is followed there.",
        one_at_a_time="Choose exactly one refill: each has its own id at the provider.",
    )
    def attach(self, request, queryset, form):
        refill_id = form.cleaned_data["provider_refill_id"]
        self.act_on_each(
            request,
            queryset,
            lambda refill: refill_attach_provider_id(
                refill_id=refill.pk, provider_refill_id=refill_id, actor=request.user
            ),
            "followed from now on.",
        )
        return None

    @admin.action(description="Close (the provider has no such refill)…", permissions=["change"])
    @asks(
        CloseRefillForm,
        title="Close {count} refill request(s)",
        submit="Close",
        help="The customer sees the refill rejected and may ask for another one.",
    )
    def close(self, request, queryset, form):
        note = form.cleaned_data["note"]
        self.act_on_each(
            request,
            queryset,
            lambda refill: refill_close(refill_id=refill.pk, actor=request.user, note=note),
            "closed.",
        )
        return None
