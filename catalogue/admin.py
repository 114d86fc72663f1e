"""The operator's pages for what the storefront sells and at which price: services, markup rules, currency
rates, customers' prices, and publishing from the provider-service list. Beside every price, its margin."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from catalogue.margins import (
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
from catalogue.models import (
    CurrencyRate,
    CustomerPricing,
    CustomerServicePrice,
    MarkupRule,
    Service,
    ServiceRoute,
)
from catalogue.pricing import currency_rates
from catalogue.publishing import (
    markup_preview,
    service_move,
    services_publish_selected,
    services_put_back_on_sale,
    services_reprice,
    services_take_off_sale,
)
from catalogue.routes import primary_route_follow, route_margin
from content.services import service_seen, service_updates_record
from orders.auto_refill import auto_refill_enrol
from panels.admin import ProviderServiceAdmin
from panels.models import ProviderService
from reseller.admin_tools import ActionForm, CustomerPageLink, ModelAdmin, TabularInline, asks


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


# A change to one of these re-plans when the service's completed orders are looked at by auto-refill.
AUTO_REFILL_FIELDS = {"refill", "refill_days", "auto_refill", "auto_refill_days"}


class ServiceRouteInline(TabularInline):
    """The service's routes, edited on its page (recorded by the page's audit row): where its orders go,
    each with its cost and the margin the service's price earns there."""

    model = ServiceRoute
    extra = 0
    fields = ["position", "provider_service", "enabled", "min_quantity", "max_quantity", "cost", "margin"]
    readonly_fields = ["cost", "margin"]
    raw_id_fields = ["provider_service"]
    verbose_name = "route"
    verbose_name_plural = "Routes: where orders go (the first that can take an order; the price stays)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provider_service__provider", "service")

    @admin.display(description="Cost / 1000")
    def cost(self, route):
        if route is None or route.pk is None:
            return "—"
        upstream, cost = route.provider_service, route_margin(route).cost
        provider_says = f"{upstream.rate.normalize():f} {upstream.provider.currency}"
        return provider_says if cost is None else f"{cost} ({provider_says})"

    @admin.display(description="Margin")
    def margin(self, route):
        return "—" if route is None or route.pk is None else margin_html(route_margin(route))


class UnderCostFilter(admin.SimpleListFilter):
    """The services with a price under their cost now (``storefront_losses``): the list price, a customer's
    custom price or a discount; the front page's count links here."""

    title = "price under cost"
    parameter_name = "under_cost"

    def lookups(self, request, model_admin):
        return [("yes", "A price under cost")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in={price.service.pk for price in storefront_losses().prices})
        return queryset


@admin.register(Service)
class ServiceAdmin(MarginsOnTheList, ModelAdmin):
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
    list_filter = [
        UnderCostFilter,
        "status",
        "type",
        "manual_price",
        "provider_service__provider",
        "category",
    ]
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
        "routing",
        "min_quantity",
        "max_quantity",
        "refill",
        "refill_days",
        "auto_refill",
        "auto_refill_days",
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
    actions = ["take_off_sale", "put_back_on_sale", "reprice", "move"]
    inlines = [ServiceRouteInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The primary provider service (the price follows it) is always one of the routes.
        primary_route_follow(service=form.instance, was=getattr(form.instance, "primary_was", None))

    def annotate_rows(self, rows):
        rates = currency_rates()
        for service in rows:
            service.margin_now = margin_of(
                price=service.price, provider_service=service.provider_service, rates=rates
            )

    def save_model(self, request, obj, form, change):
        stored = (
            Service.objects.select_related("provider_service").filter(pk=obj.pk).first() if change else None
        )
        obj.primary_was = stored.provider_service if stored else None  # the routes follow a new primary
        super().save_model(request, obj, form, change)
        # A price or status set by hand reaches the customers' service updates page like a markup's.
        service_updates_record(before={obj.pk: service_seen(stored)} if stored else {}, after=[obj])
        if set(form.changed_data) & AUTO_REFILL_FIELDS:  # its completed orders are followed, or no longer
            followed = auto_refill_enrol(service=obj)
            if obj.auto_refill:
                self.message_user(request, f"Auto-refill follows {followed} completed order(s) of {obj}.")

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

    # Not "pause": a paused service is one a catalogue sync took off sale and puts back by itself.
    @admin.action(description="Take off sale (disable)", permissions=["change"])
    def take_off_sale(self, request, queryset):
        count = services_take_off_sale(services=queryset, actor=request.user)
        self.message_user(request, f"{count} services disabled.", messages.SUCCESS)

    @admin.action(description="Put back on sale", permissions=["change"])
    def put_back_on_sale(self, request, queryset):
        # Never one whose provider service changed type: it would be billed on another basis than its price.
        count = services_put_back_on_sale(services=queryset, actor=request.user)
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
        preview=lambda services, values: markup_preview(
            provider_services=ProviderService.objects.filter(storefront__in=services).distinct(),
            percent=values.get("percent"),
            fixed=values.get("fixed"),
            rounding=values.get("rounding"),
            repricing=True,
        ),
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
        service = service_move(
            service=queryset.first(), actor=request.user, **form.cleaned_data
        )  # refused: the form again
        margin = margin_of(price=service.price, provider_service=service.provider_service)
        self.message_user(
            request,
            f"{service} is now sold from {service.provider_service}, at {service.price}: {margin}.",
            messages.SUCCESS,
        )
        return None


@admin.register(MarkupRule)
class MarkupRuleAdmin(MarginsOnTheList, ModelAdmin):
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
class CurrencyRateAdmin(ModelAdmin):
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
class CustomerServicePriceAdmin(CustomerPageLink, MarginsOnTheList, ModelAdmin):
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
class CustomerPricingAdmin(CustomerPageLink, ModelAdmin):
    form = DiscountForm
    list_display = ["user", "discount_percent"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["lowest_margin"]

    @admin.display(description="Lowest margin it gives")
    def lowest_margin(self, pricing):
        return discount_lowest_margin(pricing)


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


# The catalogue adds its "publish" step to the provider-service list; panels knows nothing of what is sold.
admin.site.unregister(ProviderService)


@admin.register(ProviderService)
class PublishingProviderServiceAdmin(ProviderServiceAdmin):
    actions = [*ProviderServiceAdmin.actions, "publish"]

    def has_publish_permission(self, request):
        return request.user.has_perm("catalogue.add_service")

    @admin.action(description="Publish on the storefront…", permissions=["publish"])
    @asks(
        PublishForm,
        title="Publish {count} provider service(s) on the storefront",
        submit="Publish",
        help="They go on sale (or are repriced) at the markup below, each with its own markup rule: the "
        "provider's cost converted to the panel currency, plus the markup, rounded up.",
        describe=provider_services_with_costs,
        preview=lambda provider_services, values: markup_preview(
            provider_services=provider_services,
            percent=values.get("percent"),
            fixed=values.get("fixed"),
            rounding=values.get("rounding"),
            repricing=False,
        ),
    )
    def publish(self, request, queryset, form):
        result = services_publish_selected(
            provider_services=queryset, actor=request.user, **form.cleaned_data
        )
        self.message_user(request, f"Storefront: {result.summary()}.", messages.SUCCESS)
        for reason in result.skipped:
            self.message_user(request, f"Skipped {reason}", messages.WARNING)
        return None
