from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from unfold.contrib.filters.admin import AutocompleteSelectFilter

from audit.services import audit_record
from console.roles import moves_money, sees_providers
from orders.models import Order, OrderEvent, Refill
from orders.refills import refill_attach_provider_id, refill_close
from orders.selectors import orders_needing_review
from orders.services import (
    order_attach_provider_id,
    order_cancel_placed,
    order_fail_and_refund,
    order_finish,
    order_mark_resolved,
    order_resend,
    order_resend_to,
    order_set_figures,
    order_settle_undelivered,
    resend_choices,
)
from orders.tasks import sync_order_statuses
from panels.admin import ProviderAdmin
from panels.models import Provider, ProviderService
from panels.normalize import ServiceType
from reseller.admin_tools import (
    ActionForm,
    ActionsOnlyAdmin,
    CustomerPageLink,
    RangeDateTimeFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    asks,
)
from reseller.csv_export import CsvExportAdmin
from reseller.numbers import DIGITS_ONLY, digits_written_oddly, whole_number
from reseller.paging import LongListAdmin
from reseller.states import TransitionRefused


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


class KnownValuesFilter(admin.SimpleListFilter):
    """A field's values among the ``known`` ones, without reading the rows for them."""

    known: list[tuple[str, str]]

    def lookups(self, request, model_admin):
        return self.known

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class ServiceTypeFilter(KnownValuesFilter):
    title = "type"
    parameter_name = "type"
    known = [(kind.value, kind.value) for kind in ServiceType]


class EventStatusFilter(KnownValuesFilter):
    title = "to status"
    parameter_name = "to_status"
    known = Order.Status.choices


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


def _whole_number(text: str) -> int:
    number = whole_number(text)
    if number is None:
        raise ValidationError(DIGITS_ONLY if digits_written_oddly(text) else "Enter a whole number.")
    return number


class FiguresForm(ActionForm):
    start_count = forms.CharField(max_length=20, required=False, label="Start count")
    remains = forms.CharField(max_length=20, required=False, label="Remains (units not delivered yet)")
    note = forms.CharField(max_length=200, required=False, label="Where you read them")

    def clean_start_count(self):
        text = self.cleaned_data["start_count"]
        return _whole_number(text) if text else None

    def clean_remains(self):
        text = self.cleaned_data["remains"]
        return _whole_number(text) if text else None


class FinishForm(SettleForm):
    """How an order open at the provider really ended: the undelivered part decides the status and refund."""


class CancelPlacedForm(ActionForm):
    checked = forms.BooleanField(
        label="I checked the provider: this order is canceled there (or will deliver nothing more)."
    )
    note = forms.CharField(max_length=200, required=False, label="What you checked")


class ResendToForm(ActionForm):
    provider_service = forms.ModelChoiceField(queryset=None, label="Send it to")
    checked = forms.BooleanField(
        required=False,
        label="I searched the current provider's panel: it has no such order (for an unknown outcome).",
    )

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, queryset=queryset, **kwargs)
        order = queryset.first()
        choices = resend_choices(order) if order is not None else []
        self.fields["provider_service"].queryset = ProviderService.objects.filter(
            pk__in=[choice.pk for choice in choices]
        ).select_related("provider")


def _charged(queryset) -> list[str]:
    return [
        f"{order} — {order.units} units, charged {order.charge}, refunded {order.refunded}"
        for order in queryset
    ]


class AttachProviderIdForm(forms.Form):
    provider_order_id = forms.CharField(max_length=64, label="The provider's order id")


@admin.register(Order)
class OrderAdmin(LongListAdmin, CustomerPageLink, CsvExportAdmin, ProviderSideHidden, ActionsOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "service",
        "link",
        "units",
        "charge",
        "status",
        "provider",
        "provider_order_id",
    ]
    # None of the filters reads the orders to offer its choices (a million orders made each page scan the
    # table for the distinct services, customers, types and dates): services and customers are searched
    # as typed, types are the known ones, dates a range.
    list_filter = [
        ReviewQueueFilter,
        "status",
        "provider",
        ("service", AutocompleteSelectFilter),
        ("user", AutocompleteSelectFilter),
        ServiceTypeFilter,
        ("cancel_requested_at", admin.EmptyFieldListFilter),
        ("created_at", RangeDateTimeFilter),
    ]
    list_filter_submit = True  # the range and the searches are forms
    search_fields = ["=id", "link", "provider_order_id", "user__username"]
    list_select_related = ["user", "service", "provider"]
    inlines = [OrderEventInline, RefillInline]
    actions = [
        "resend",
        "refund",
        "mark_resolved",
        "settle",
        "set_figures",
        "finish",
        "cancel_placed",
        "resend_to",
    ]
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
            "route_outcomes",  # which provider services refused it, or said "later"
        }
    )
    change_form_template = "admin/orders/order/change_form.html"

    def csv_columns(self, request):
        columns = [
            ("id", lambda o: o.pk),
            ("created_at", lambda o: o.created_at.isoformat()),
            ("customer", lambda o: o.user.username),
            ("service", lambda o: o.service.name),
            ("type", lambda o: o.type),
            ("link", lambda o: o.link),
            ("units", lambda o: o.units),
            ("charge", lambda o: o.charge),
            ("refunded", lambda o: o.refunded),
            ("status", lambda o: o.status),
            ("start_count", lambda o: o.start_count),
            ("remains", lambda o: o.remains),
        ]
        if sees_providers(request.user):  # the provider side, as on the page
            columns += [
                ("provider", lambda o: o.provider.name),
                ("provider_service", lambda o: o.provider_service.remote_id),
                ("provider_order_id", lambda o: o.provider_order_id),
                ("provider_status", lambda o: o.provider_status),
                ("cost", lambda o: o.cost),
                ("cost_currency", lambda o: o.cost_currency),
            ]
        return columns

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

    @admin.action(description="Refund in full (never placed upstream)…", permissions=["refund"])
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
        description="Settle: how many were not delivered (refunds that part)…", permissions=["refund"]
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

    # Refunding an order by hand (refund, settle, finish, cancel placed) moves the panel's money on the
    # operator's word alone: who may move money (the Owner). The services refuse anyone else too.
    def has_refund_permission(self, request) -> bool:
        return moves_money(request.user)

    # Choosing the provider service names providers: only who sees them (``sees_providers``).
    def has_reroute_permission(self, request) -> bool:
        return self.has_change_permission(request) and sees_providers(request.user)

    @admin.action(description="Set start count / remains (read at the provider)…", permissions=["change"])
    @asks(
        FiguresForm,
        title="Set the figures of {first}",
        submit="Set",
        help="The status and the money stay; the customer sees the new figures. Leave a figure empty to keep "
        "it.",
        one_at_a_time="Set the figures of one order at a time.",
    )
    def set_figures(self, request, queryset, form):
        self.act_on_each(
            request,
            queryset,
            lambda order: order_set_figures(
                order=order,
                actor=request.user,
                start_count=form.cleaned_data["start_count"],
                remains=form.cleaned_data["remains"],
                note=form.cleaned_data["note"],
            ),
            "figures set.",
        )
        return None

    @admin.action(
        description="Mark completed or partial (refunds the undelivered part)…", permissions=["refund"]
    )
    @asks(
        FinishForm,
        title="Close {first}",
        submit="Close and refund",
        help="0 not delivered: Completed. Some: Partial, refunding charge x undelivered / units, once. All: "
        "Canceled, refunded in full.",
        one_at_a_time="Close one order at a time: each has its own count.",
        describe=_charged,
    )
    def finish(self, request, queryset, form):
        self.act_on_each(
            request,
            queryset,
            lambda order: order_finish(
                order=order,
                undelivered=form.cleaned_data["undelivered"],
                actor=request.user,
                note=form.cleaned_data["note"],
            ),
            "closed.",
        )
        return None

    @admin.action(
        description="Cancel and refund (placed upstream; I checked the provider)…", permissions=["refund"]
    )
    @asks(
        CancelPlacedForm,
        title="Cancel and refund {count} order(s) placed upstream",
        submit="Cancel and refund",
        help="Refunds what is not delivered (the remains; all of it when none are known). If the provider "
        "still delivers, it charges you while the customer has their money back.",
        describe=_charged,
    )
    def cancel_placed(self, request, queryset, form):
        self.act_on_each(
            request,
            queryset,
            lambda order: order_cancel_placed(
                order=order, actor=request.user, provider_checked=True, note=form.cleaned_data["note"]
            ),
            "canceled and refunded.",
        )
        return None

    @admin.action(description="Resend to another provider service…", permissions=["reroute"])
    @asks(
        ResendToForm,
        title="Resend {first} to another provider service",
        submit="Resend",
        help="One of its service's other routes of the same type. An order of unknown outcome may be placed "
        "already: resending it there pays twice unless you checked.",
        one_at_a_time="Resend one order at a time: each chooses its provider service.",
    )
    def resend_to(self, request, queryset, form):
        self.act_on_each(
            request,
            queryset,
            lambda order: order_resend_to(
                order=order,
                provider_service=form.cleaned_data["provider_service"],
                actor=request.user,
                provider_checked=form.cleaned_data["checked"],
            ),
            "resent.",
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
            except (TransitionRefused, IntegrityError) as error:
                form.add_error(
                    "provider_order_id",
                    str(error)
                    if isinstance(error, TransitionRefused)
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
class OrderEventAdmin(LongListAdmin, ProviderSideHidden, ReadOnlyAdmin):
    """Every order's history in one place: status moves, provider calls, operators' resolutions. Several
    events an order: none of the filters reads the events for its choices (the statuses are the known ones,
    the actor is searched as typed, dates a range)."""

    list_display = ["created_at", "order", "from_status", "to_status", "message", "public_message", "actor"]
    list_filter = [
        EventStatusFilter,
        ("actor", AutocompleteSelectFilter),
        ("created_at", RangeDateTimeFilter),
    ]
    list_filter_submit = True  # the range and the search are forms
    search_fields = ["=order__id", "message", "public_message", "order__provider_order_id"]
    provider_side = EVENT_PROVIDER_SIDE
    list_select_related = ["order", "actor"]
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

    list_display = [
        "pk",
        "created_at",
        "order",
        "status",
        "automatic",
        "provider_refill_id",
        "provider_status",
        "message",
    ]
    list_filter = ["status", "automatic", "created_at", "order__provider"]
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
