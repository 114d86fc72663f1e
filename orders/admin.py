from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from audit.services import audit_record
from console.roles import sees_providers
from orders.margins import (
    ACCEPT_LOSS,
    Margin,
    SellingAtLoss,
    cost_of,
    custom_price_check,
    discount_check,
    discount_margins,
    lowest,
    margin_of,
    markup_rule_check,
    markup_rule_margins,
    markup_rules_yield,
    service_price_check,
    storefront_losses,
)
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
from orders.pricing import currency_rates
from orders.refills import refill_attach_provider_id, refill_close
from orders.selectors import orders_needing_review
from orders.services import (
    OrderRefused,
    order_attach_provider_id,
    order_fail_and_refund,
    order_mark_resolved,
    order_resend,
    order_settle_undelivered,
)
from orders.storefront import (
    service_move,
    services_disable,
    services_publish_selected,
    services_reprice,
    services_resume,
)
from orders.tasks import sync_order_statuses
from panels.admin import ProviderAdmin, ProviderServiceAdmin
from panels.models import Provider, ProviderService
from reseller.admin_tools import ActionForm, ActionsOnlyAdmin, ReadOnlyAdmin, ReadOnlyInline, asks
from reseller.numbers import DIGITS_ONLY, digits_written_oddly, whole_number


def accept_loss_field():
    """The operator's confirmation that the services' SellingAtLoss refusal asks for."""
    return forms.BooleanField(required=False, label=ACCEPT_LOSS)


def margin_html(margin: Margin) -> str:
    """A margin as operators read it beside a price: red under cost, the reason when the cost is unknown."""
    if margin.cost is None:
        return format_html('<span title="{}">cost unknown</span>', margin.unknown)
    share = "" if margin.percent is None else f" ({margin.percent}%)"
    text = f"{margin.amount:+}{share}"
    if margin.under_cost:
        return format_html('<strong class="bad">{} under cost</strong>', text)
    return text


class ConfirmsLossForm(forms.ModelForm):
    """A form that sets a price (its admin gives the model and fields): saving it under the current cost is
    refused by ``check`` (a service's check) unless the operator ticks ``allow_loss``. It runs when one of
    ``priced_by`` changed, so that another edit of a price already under cost (after a cost rise) is not
    held up by it."""

    allow_loss = accept_loss_field()
    priced_by: tuple[str, ...] = ()

    def check(self, cleaned: dict, *, allow_loss: bool) -> None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:  # before changed_data, which compares the posted values unvalidated ("sNaN" raises)
            return cleaned
        if self.instance.pk is None or set(self.changed_data) & set(self.priced_by):
            try:
                self.check(cleaned, allow_loss=cleaned.get("allow_loss", False))
            except SellingAtLoss as error:
                self.add_error(None, error)
        return cleaned


class ServiceForm(ConfirmsLossForm):
    priced_by = ("price", "provider_service")

    def check(self, cleaned, *, allow_loss):
        service = self.instance if self.instance.pk else Service(name=cleaned.get("name", ""))
        service_price_check(
            service=service,
            price=cleaned["price"],
            provider_service=cleaned["provider_service"],
            allow_loss=allow_loss,
        )


class MarkupRuleForm(ConfirmsLossForm):
    priced_by = ("provider", "category", "provider_service", "percent", "fixed", "rounding")

    def check(self, cleaned, *, allow_loss):
        rule = MarkupRule(pk=self.instance.pk, **{name: cleaned.get(name) for name in self.priced_by})
        markup_rule_check(rule=rule, allow_loss=allow_loss)


class CustomPriceForm(ConfirmsLossForm):
    """A customer's custom price, on its own page and on the customer's page."""

    priced_by = ("service", "price")

    def check(self, cleaned, *, allow_loss):
        custom_price_check(
            customer=cleaned["user"],
            service=cleaned["service"],
            price=cleaned["price"],
            allow_loss=allow_loss,
        )


class DiscountForm(ConfirmsLossForm):
    """A customer's discount, on its own page and on the customer's page."""

    priced_by = ("discount_percent",)

    def check(self, cleaned, *, allow_loss):
        discount_check(customer=cleaned["user"], percent=cleaned["discount_percent"], allow_loss=allow_loss)


def custom_price_margin(custom_price: CustomerServicePrice, rates=None) -> str:
    if custom_price is None or custom_price.pk is None:
        return "—"
    upstream = custom_price.service.provider_service
    return margin_html(margin_of(price=custom_price.price, provider_service=upstream, rates=rates))


def discount_lowest_margin(pricing: CustomerPricing) -> str:
    if pricing is None or pricing.pk is None or not pricing.discount_percent:
        return "—"
    worst = lowest(discount_margins(customer=pricing.user, percent=pricing.discount_percent))
    if worst is None:
        return "—"
    return format_html(
        "{}: {}",
        f"#{worst.service.pk} {worst.service.name} at {worst.margin.price}",
        margin_html(worst.margin),
    )


class MarginsOnTheList:
    """A list page whose rows show margins: ``annotate_rows`` computes them for the page's rows at once
    (the rates and whatever else they need: a few queries, not a few per row)."""

    def annotate_rows(self, rows: list) -> None:
        raise NotImplementedError

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        self.annotate_rows(list(changelist.result_list))  # the page's rows, evaluated once and kept
        return changelist


class RepriceForm(ActionForm):
    percent = forms.DecimalField(max_digits=7, decimal_places=2, min_value=Decimal(-99), label="Markup (%)")
    fixed = forms.DecimalField(max_digits=16, decimal_places=4, initial=Decimal(0), label="Plus, per 1000")
    rounding = forms.ChoiceField(choices=MarkupRule.Rounding.choices, initial=MarkupRule.Rounding.CENT)
    allow_loss = accept_loss_field()


def _upstream_label(upstream: ProviderService) -> str:
    return (
        f"{upstream.provider} #{upstream.remote_id} {upstream.name}: {upstream.rate:f} "
        f"{upstream.provider.currency} per 1000, {upstream.min_quantity} to {upstream.max_quantity}"
    )


class MoveForm(ActionForm):
    provider_service = forms.ModelChoiceField(
        queryset=ProviderService.objects.none(), label="Provider service"
    )
    allow_loss = accept_loss_field()

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


def services_with_margins(services) -> list[str]:
    """The lines an action lists its services with: each one's price, cost and margin now."""
    rates = currency_rates()
    services = services.select_related("provider_service__provider")
    return [
        f"{service} at {service.price}: "
        f"{margin_of(price=service.price, provider_service=service.provider_service, rates=rates)}"
        for service in services
    ]


@admin.register(Service)
class ServiceAdmin(MarginsOnTheList, admin.ModelAdmin):
    form = ServiceForm
    list_display = [
        "id",
        "name",
        "category",
        "type",
        "price",
        "cost",
        "margin",
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
    readonly_fields = ["cost", "margin", "paused_by_sync", "created_at", "updated_at"]
    fields = [
        "name",
        "category",
        "description",
        "type",
        "provider_service",
        "min_quantity",
        "max_quantity",
        "refill",
        "refill_days",
        "cancel",
        "dripfeed",
        "price",
        "cost",
        "margin",
        "allow_loss",
        "manual_price",
        "status",
        "pause_reason",
        "paused_by_sync",
        "created_at",
        "updated_at",
    ]
    actions = ["pause", "resume", "reprice", "move"]

    def annotate_rows(self, rows):
        rates = currency_rates()
        for service in rows:
            service.margin_now = margin_of(
                price=service.price, provider_service=service.provider_service, rates=rates
            )

    def _margin(self, service) -> Margin:
        return getattr(service, "margin_now", None) or margin_of(
            price=service.price, provider_service=service.provider_service
        )

    @admin.display(description="Provider")
    def provider(self, service):
        return f"{service.provider_service.provider} #{service.provider_service.remote_id}"

    @admin.display(description="Cost / 1000")
    def cost(self, service):
        if service is None or service.pk is None:
            return "—"
        upstream, cost = service.provider_service, self._margin(service).cost
        provider_says = f"{upstream.rate.normalize():f} {upstream.provider.currency}"
        if cost is None:
            return provider_says
        return cost if upstream.provider.currency == settings.PANEL_CURRENCY else f"{cost} ({provider_says})"

    @admin.display(description="Margin")
    def margin(self, service):
        return "—" if service is None or service.pk is None else margin_html(self._margin(service))

    @admin.action(description="Disable (stop selling)", permissions=["change"])
    def pause(self, request, queryset):
        count = services_disable(services=queryset, actor=request.user)
        self.message_user(request, f"{count} services disabled.", messages.SUCCESS)

    @admin.action(description="Put back on sale", permissions=["change"])
    def resume(self, request, queryset):
        count = services_resume(services=queryset, actor=request.user)
        self.message_user(
            request,
            f"{count} services on sale (services missing upstream, or of another type there, stay paused).",
        )

    @admin.action(description="Reprice at a markup over cost…", permissions=["change"])
    @asks(
        RepriceForm,
        title="Reprice {count} service(s)",
        submit="Reprice",
        help="Each service gets its own markup rule over its provider's cost; hand-set prices go.",
        describe=services_with_margins,
    )
    def reprice(self, request, queryset, form):
        result = services_reprice(services=queryset, actor=request.user, **form.cleaned_data)
        self.message_user(request, f"Repriced: {result.summary()}.", messages.SUCCESS)
        return None

    @admin.action(description="Sell from another provider service…", permissions=["change"])
    @asks(
        MoveForm,
        title="Sell {first} from another provider service",
        submit="Move",
        help="New orders go to the chosen provider service; placed orders stay where they were sent.",
        one_at_a_time="Choose exactly one service to move.",
        describe=services_with_margins,
    )
    def move(self, request, queryset, form):
        service = service_move(service=queryset.first(), actor=request.user, **form.cleaned_data)
        margin = margin_of(price=service.price, provider_service=service.provider_service)
        self.message_user(
            request,
            f"{service} is now sold from {service.provider_service}, at {service.price}: {margin}.",
            messages.SUCCESS,
        )
        return None


@admin.register(MarkupRule)
class MarkupRuleAdmin(MarginsOnTheList, admin.ModelAdmin):
    form = MarkupRuleForm
    list_display = [
        "__str__",
        "provider",
        "category",
        "provider_service",
        "percent",
        "fixed",
        "rounding",
        "yields",
    ]
    list_filter = ["provider"]
    raw_id_fields = ["provider_service"]
    readonly_fields = ["yields"]

    def annotate_rows(self, rows):
        prices = markup_rules_yield()
        for rule in rows:
            rule.prices = prices.get(rule.pk, [])

    @admin.display(description="What it prices now")
    def yields(self, rule):
        if rule is None or rule.pk is None:
            return "—"
        prices = rule.prices if hasattr(rule, "prices") else markup_rule_margins(rule=rule)
        if not prices:
            return "No service on sale"
        losses = [price for price in prices if price.margin.under_cost]
        worst = lowest(prices)
        said = f"{len(prices)} service(s), lowest margin {worst.margin.amount:+} ({worst.service})"
        if not losses:
            return said
        return format_html(
            '{}; <strong class="bad">{} under cost</strong>: {}',
            said,
            len(losses),
            "; ".join(str(loss) for loss in losses[:10]),
        )


@admin.register(CurrencyRate)
class CurrencyRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "rate", "updated_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A rate moves costs, not prices: nothing to refuse, but the operator should know at once.
        losses = storefront_losses()
        if losses.prices:
            self.message_user(
                request,
                f"At the rates now, {len(losses.prices)} price(s) of {losses.services} service(s) are under "
                "cost: see Prices under cost on the dashboard.",
                messages.WARNING,
            )


@admin.register(CustomerServicePrice)
class CustomerServicePriceAdmin(MarginsOnTheList, admin.ModelAdmin):
    form = CustomPriceForm
    list_display = ["user", "service", "price", "margin"]
    list_select_related = ["user", "service__provider_service__provider"]
    search_fields = ["user__username", "service__name"]
    raw_id_fields = ["user", "service"]
    readonly_fields = ["margin"]

    def annotate_rows(self, rows):
        rates = currency_rates()
        for custom_price in rows:
            custom_price.margin_shown = custom_price_margin(custom_price, rates)

    @admin.display(description="Margin")
    def margin(self, custom_price):
        return getattr(custom_price, "margin_shown", None) or custom_price_margin(custom_price)


@admin.register(CustomerPricing)
class CustomerPricingAdmin(admin.ModelAdmin):
    form = DiscountForm
    list_display = ["user", "discount_percent"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["lowest_margin"]

    @admin.display(description="Lowest margin it gives")
    def lowest_margin(self, pricing):
        return discount_lowest_margin(pricing)


class ProviderSideHidden:
    """Shows the names in ``provider_side`` (list columns, filters, search fields, fields of a page) only to
    staff who may see providers (``console.roles.sees_providers``). Support sees an order as its customer
    does, with the state of our own handling of it — never which provider serves it, the provider's ids,
    statuses or words, costs, or the rate it was priced at."""

    provider_side: frozenset[str] = frozenset()

    def _shown(self, request, names) -> list:
        if sees_providers(request.user):
            return list(names)
        return [name for name in names if _named(name) not in self.provider_side]

    def get_list_display(self, request):
        return self._shown(request, super().get_list_display(request))

    def get_list_filter(self, request):
        return self._shown(request, super().get_list_filter(request))

    def get_search_fields(self, request):
        return self._shown(request, super().get_search_fields(request))

    def get_fields(self, request, obj=None):
        return self._shown(request, super().get_fields(request, obj))

    def lookup_allowed(self, lookup, value, request=None):
        # No filtering by hand-made query strings on what is hidden (?provider__name__startswith=…).
        hidden = any(lookup == name or lookup.startswith(f"{name}__") for name in self.provider_side)
        if hidden and request is not None and not sees_providers(request.user):
            return False
        return super().lookup_allowed(lookup, value, request)


def _named(entry) -> str | None:
    """The field an admin list entry is about: ``"=provider_order_id"``, ``("service", SomeFilter)``…"""
    if isinstance(entry, tuple | list):
        entry = entry[0]
    return entry.lstrip("=^@") if isinstance(entry, str) else None


# The operator's own history line may name the provider and quote it; Support reads what the customer read.
EVENT_PROVIDER_SIDE = frozenset({"message", "order__provider_order_id"})
REFILL_PROVIDER_SIDE = frozenset({"provider_refill_id", "provider_status", "message", "order__provider"})


class OrderEventInline(ProviderSideHidden, ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "message", "public_message", "actor"]
    provider_side = EVENT_PROVIDER_SIDE


class RefillInline(ProviderSideHidden, ReadOnlyInline):
    model = Refill
    fields = ["created_at", "status", "provider_refill_id", "provider_status", "message"]
    provider_side = REFILL_PROVIDER_SIDE


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


class SettleForm(ActionForm):
    undelivered = forms.CharField(
        max_length=20,
        label="Not delivered (units)",
        help_text="As the provider's panel shows it (its remains); 0 if everything was delivered.",
    )
    note = forms.CharField(max_length=200, required=False, label="What you checked")

    def clean_undelivered(self):
        text = self.cleaned_data["undelivered"]
        number = whole_number(text)
        if number is None:
            raise ValidationError(DIGITS_ONLY if digits_written_oddly(text) else "Enter a whole number.")
        return number


class AttachProviderIdForm(forms.Form):
    provider_order_id = forms.CharField(max_length=64, label="The provider's order id")


@admin.register(Order)
class OrderAdmin(ProviderSideHidden, ActionsOnlyAdmin):
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
    actions = ["resend", "refund", "mark_resolved", "settle"]
    # The wait and unaccounted reasons quote the provider; ``price`` is the rate from the price list.
    provider_side = frozenset(
        {
            "provider",
            "provider_service",
            "provider_order_id",
            "provider_status",
            "cost",
            "cost_currency",
            "price",
            "wait_reason",
            "unaccounted_reason",
        }
    )
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

    @admin.action(
        description="Settle: how many were not delivered (refunds that part)…", permissions=["change"]
    )
    @asks(
        SettleForm,
        title="Settle {first}",
        submit="Settle and refund",
        help="For an order the provider reported finished without its remains, no longer knows, or whose "
        "provider is disabled: look it up in the provider's panel. The order is closed and exactly the "
        "undelivered part refunded, once.",
        one_at_a_time="Settle one order at a time: each has its own count.",
    )
    def settle(self, request, queryset, form):
        self.act_on_each(
            request,
            queryset,
            lambda order: order_settle_undelivered(
                order=order,
                undelivered=form.cleaned_data["undelivered"],
                actor=request.user,
                note=form.cleaned_data["note"],
            ),
            "settled.",
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
            "sees_providers": sees_providers(request.user),
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order/attach.html", context)


class PublishForm(ActionForm):
    percent = forms.DecimalField(max_digits=7, decimal_places=2, initial=Decimal(50), label="Markup (%)")
    fixed = forms.DecimalField(max_digits=16, decimal_places=4, initial=Decimal(0), label="Plus, per 1000")
    rounding = forms.ChoiceField(choices=MarkupRule.Rounding.choices, initial=MarkupRule.Rounding.CENT)
    allow_loss = accept_loss_field()


def provider_services_with_costs(provider_services) -> list[str]:
    """The lines the publish action lists provider services with: each one's cost in the panel currency."""
    rates = currency_rates()
    lines = []
    for upstream in provider_services.select_related("provider"):
        cost, unknown = cost_of(provider_service=upstream, rates=rates)
        lines.append(
            f"{upstream}: " + (f"cost {cost} per 1000" if cost is not None else f"cost unknown ({unknown})")
        )
    return lines


# The storefront adds its "publish" step to the provider-service list; panels knows nothing of orders.
admin.site.unregister(ProviderService)


@admin.register(ProviderService)
class PublishingProviderServiceAdmin(ProviderServiceAdmin):
    actions = [*ProviderServiceAdmin.actions, "publish"]

    def has_publish_permission(self, request):
        return request.user.has_perm("orders.add_service")

    @admin.action(description="Publish on the storefront…", permissions=["publish"])
    @asks(
        PublishForm,
        title="Publish {count} provider service(s) on the storefront",
        submit="Publish",
        help="They go on sale (or are repriced) at the markup below, each with its own markup rule: the "
        "provider's cost converted to the panel currency, plus the markup, rounded up.",
        describe=provider_services_with_costs,
    )
    def publish(self, request, queryset, form):
        result = services_publish_selected(
            provider_services=queryset, actor=request.user, **form.cleaned_data
        )
        self.message_user(request, f"Storefront: {result.summary()}.", messages.SUCCESS)
        for reason in result.skipped:
            self.message_user(request, f"Skipped {reason}", messages.WARNING)
        return None


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
                audit_record(actor=request.user, verb="sync_statuses", target=provider, reason="Queued.")
                self.message_user(
                    request,
                    f"{provider.name}: status sync queued; its result shows under Last syncs.",
                    messages.SUCCESS,
                )


@admin.register(OrderEvent)
class OrderEventAdmin(ProviderSideHidden, ReadOnlyAdmin):
    """Every order's history in one place: status moves, provider calls, operators' resolutions."""

    list_display = ["created_at", "order", "from_status", "to_status", "message", "public_message", "actor"]
    list_filter = ["to_status", ("actor", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["=order__id", "message", "public_message", "order__provider_order_id"]
    provider_side = EVENT_PROVIDER_SIDE
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
class RefillAdmin(ProviderSideHidden, ActionsOnlyAdmin):
    """Customers' refill requests and how they ended; the operator resolves those of unknown outcome."""

    list_display = ["pk", "created_at", "order", "status", "provider_refill_id", "provider_status", "message"]
    list_filter = ["status", "created_at", "order__provider"]
    search_fields = ["=order__id", "provider_refill_id", "order__user__username"]
    list_select_related = ["order"]
    actions = ["attach", "close"]
    provider_side = REFILL_PROVIDER_SIDE

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
