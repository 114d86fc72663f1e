from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from audit.services import audit_record
from panels.catalogue import CatalogueRefused, catalogue_sync
from panels.client import ProviderError
from panels.health import Breaker, breaker_state, provider_mark_down, provider_mark_up
from panels.models import Provider, ProviderCall, ProviderService, ProviderServiceChange, SyncRun
from panels.normalize import BadValue, normalize_api_url
from panels.selectors import providers_with_health
from panels.services import (
    balance_sync,
    provider_key_for,
    provider_services_mark_reviewed,
    provider_test_connection,
)
from reseller.admin_tools import ActionForm, ModelAdmin, ReadOnlyAdmin, ReadOnlyInline, asks


def plain_decimal(value: Decimal) -> str:
    return f"{value.normalize():f}"


class ProviderForm(forms.ModelForm):
    api_url = forms.URLField(
        label="API URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 60}),
        help_text=Provider._meta.get_field("api_url").help_text,
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "api_url",
            "api_key",
            "key_header",
            "enabled",
            "notes",
            "low_balance_threshold",
            "connect_timeout",
            "read_timeout",
            "calls_per_minute",
            "dripfeed",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Money is stored with 8 places; show "0" and "25.5", not "0E-8" and "25.50000000".
        if self.instance.pk:
            self.initial["low_balance_threshold"] = plain_decimal(self.instance.low_balance_threshold)
            masked = self.instance.masked_key
            self.fields["api_key"].help_text = (
                f"Stored key: {masked}. Leave empty to keep it, or type a new one; "
                "a new API URL needs the key again."
            )
        else:
            self.fields["api_key"].required = True

    def clean_api_url(self):
        try:
            return normalize_api_url(self.cleaned_data["api_url"])
        except BadValue as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        if "api_url" in cleaned and "api_key" in cleaned:
            # A blank field means "keep the stored key" (it is never sent back to the browser to resubmit),
            # unless the URL changes: then the key must be typed again.
            try:
                cleaned["api_key"] = provider_key_for(
                    provider=self.instance, api_url=cleaned["api_url"], api_key=cleaned.get("api_key")
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class MarkDownForm(ActionForm):
    reason = forms.CharField(max_length=200, required=False, help_text="Why, for the audit trail.")


def breaker_html(provider: Provider) -> str:
    """Whether routing sends orders to ``provider``: up, down until …, down by hand, or on trial."""
    state = breaker_state(provider)
    if state == Breaker.UP:
        return "up"
    if state == Breaker.TRIAL:
        return format_html('<span title="{}">on trial (one order decides)</span>', provider.down_reason)
    until = "by hand" if state == Breaker.BY_HAND else f"until {localize(localtime(provider.down_until))}"
    return format_html('<strong class="bad" title="{}">down {}</strong>', provider.down_reason, until)


@admin.register(Provider)
class ProviderAdmin(ModelAdmin):
    form = ProviderForm
    list_display = [
        "name",
        "enabled",
        "balance_display",
        "balance_checked_at",
        "active_services_display",
        "last_syncs_display",
        "error_rate_display",
        "breaker_display",
        "api_url",
    ]
    list_filter = ["enabled", "currency"]
    search_fields = ["name", "api_url", "notes"]
    readonly_fields = [
        "balance_display",
        "currency",
        "balance_checked_at",
        "breaker_display",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "api_url", "api_key", "key_header", "enabled", "notes"]}),
        ("Balance", {"fields": ["balance_display", "balance_checked_at", "low_balance_threshold"]}),
        ("Limits", {"fields": ["connect_timeout", "read_timeout", "calls_per_minute", "send_concurrency"]}),
        ("Orders", {"fields": ["dripfeed", "breaker_display"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    actions = ["test_connection", "sync_catalogue", "sync_balance", "mark_down", "mark_up"]

    def get_queryset(self, request):
        return providers_with_health()

    @admin.display(description="Balance", ordering="balance")
    def balance_display(self, provider: Provider):
        if provider.balance is None:
            return "—"
        text = f"{plain_decimal(provider.balance)} {provider.currency}"
        if provider.is_low_balance:
            return format_html('<strong class="bad">{} — LOW</strong>', text)
        return text

    @admin.display(description="Active services", ordering="active_services")
    def active_services_display(self, provider):
        return provider.active_services

    @admin.display(description="Last syncs")
    def last_syncs_display(self, provider):
        lines = []
        for kind, label in SyncRun.Kind.choices:
            when = getattr(provider, f"last_{kind}_sync_at")
            if when is None:
                lines.append(format_html("{}: never", label))
            elif getattr(provider, f"last_{kind}_sync_ok"):
                lines.append(format_html("{}: {} ✓", label, naturaltime(when)))
            else:
                error = getattr(provider, f"last_{kind}_sync_error")
                lines.append(
                    format_html(
                        '{}: {} <span class="bad" title="{}">failed</span>',
                        label,
                        naturaltime(when),
                        error,
                    )
                )
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description="Errors (24 h)")
    def error_rate_display(self, provider):
        if not provider.recent_calls:
            return "no calls"
        failed = provider.recent_failed_calls or 0
        return f"{failed * 100 // provider.recent_calls}% of {provider.recent_calls}"

    @admin.display(description="Routing")
    def breaker_display(self, provider):
        if provider is None or provider.pk is None:
            return "—"
        return breaker_html(provider)

    @admin.action(description="Mark down (route no orders to it)…", permissions=["change"])
    @asks(
        MarkDownForm,
        title="Mark {count} provider(s) down",
        submit="Mark down",
        help="Orders with another route go there; the others wait (nothing is failed) until you mark the "
        "provider up.",
    )
    def mark_down(self, request, queryset, form):
        for provider in queryset:
            provider_mark_down(provider=provider, actor=request.user, reason=form.cleaned_data["reason"])
        self.message_user(request, f"{queryset.count()} provider(s) marked down.", messages.SUCCESS)
        return None

    @admin.action(description="Mark up (route orders to it again)", permissions=["change"])
    def mark_up(self, request, queryset):
        for provider in queryset:
            provider_mark_up(provider=provider, actor=request.user)
        self.message_user(request, f"{queryset.count()} provider(s) marked up.", messages.SUCCESS)

    def _run_for_each(self, request, providers, operation, describe, *, verb: str):
        """Run a provider call for each; the audit row says who asked and what came of it (the call itself
        is in the call log and the sync runs, the same as beat's)."""
        for provider in providers:
            try:
                outcome = operation(provider=provider)
            except (ProviderError, CatalogueRefused) as error:
                said, level = str(error), messages.ERROR
            else:
                said, level = describe(outcome), messages.SUCCESS
            audit_record(actor=request.user, verb=verb, target=provider, reason=said)
            self.message_user(request, f"{provider.name}: {said}", level)

    @admin.action(description="Test connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Provider]):
        self._run_for_each(request, queryset, provider_test_connection, str, verb="test_connection")

    @admin.action(description="Sync catalogue now", permissions=["change"])
    def sync_catalogue(self, request, queryset):
        self._run_for_each(
            request, queryset, catalogue_sync, lambda result: result.summary(), verb="sync_catalogue"
        )

    @admin.action(description="Sync balance now", permissions=["change"])
    def sync_balance(self, request, queryset):
        self._run_for_each(
            request, queryset, balance_sync, lambda b: f"balance {b.amount} {b.currency}", verb="sync_balance"
        )


class ProviderServiceChangeInline(ReadOnlyInline):
    model = ProviderServiceChange
    fields = ["changed_at", "old_rate", "new_rate", "old_min", "new_min", "old_max", "new_max"]


@admin.register(ProviderService)
class ProviderServiceAdmin(ModelAdmin):
    list_display = [
        "remote_id",
        "name",
        "provider",
        "type",
        "category",
        "rate_display",
        "min_quantity",
        "max_quantity",
        "features",
        "active",
        "is_new",
    ]
    list_filter = ["provider", "active", "is_new", "type", "refill", "cancel", "dripfeed"]
    search_fields = ["name", "remote_id", "category", "description"]
    list_select_related = ["provider"]
    list_per_page = 100
    inlines = [ProviderServiceChangeInline]
    actions = ["mark_reviewed"]
    # The mirror belongs to the sync: everything the provider said is read-only here.
    readonly_fields = [
        "provider",
        "remote_id",
        *ProviderService.MIRRORED_FIELDS,
        "active",
        "first_seen_at",
        "last_seen_at",
        "vanished_at",
        "updated_at",
    ]
    fields = [*readonly_fields, "is_new"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Rate / 1000", ordering="rate")
    def rate_display(self, service: ProviderService) -> str:
        return plain_decimal(service.rate)

    @admin.display(description="Allows")
    def features(self, service: ProviderService) -> str:
        allowed = [
            name
            for name, on in [
                ("refill", service.refill),
                ("cancel", service.cancel),
                ("drip-feed", service.dripfeed),
            ]
            if on
        ]
        if service.dripfeed is None:
            allowed.append("drip-feed not stated")
        return " · ".join(allowed) or "—"

    @admin.action(description="Mark as reviewed (clear the “new” flag)", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        count = provider_services_mark_reviewed(services=queryset, actor=request.user)
        self.message_user(request, f"{count} services marked as reviewed.", messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "provider", "kind", "ok", "summary", "error", "finished_at"]
    list_filter = ["kind", "ok", "provider"]
    list_select_related = ["provider"]
    date_hierarchy = "started_at"


@admin.register(ProviderCall)
class ProviderCallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "provider", "action", "outcome", "http_status", "duration_ms", "error"]
    list_filter = ["outcome", "action", "provider"]
    search_fields = ["error", "response_excerpt"]
    list_select_related = ["provider"]
    date_hierarchy = "created_at"
    list_per_page = 100
