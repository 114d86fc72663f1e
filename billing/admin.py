from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from billing.models import Account, LedgerEntry, PaymentMethod, PaymentNotification, TopUp
from billing.money import MONEY_PLACES
from billing.services import BalanceLimit, InsufficientFunds, balance_adjust
from billing.topups import topup_approve, topup_reject
from console.roles import moves_money
from reseller.admin_tools import (
    ActionForm,
    ActionsOnlyAdmin,
    CustomerPageLink,
    ModelAdmin,
    RangeDateTimeFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    asks,
)
from reseller.csv_export import CsvExportAdmin
from reseller.paging import LongListAdmin


class AdjustmentForm(forms.Form):
    amount = forms.DecimalField(
        decimal_places=MONEY_PLACES,
        max_digits=16,
        help_text="Positive credits the balance, negative debits it.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the ledger for good, and shown to the customer in their funds history.",
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == Decimal(0):
            raise forms.ValidationError("An adjustment of zero changes nothing.")
        return amount


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["created_at", "kind", "amount", "balance_after", "reference", "reason", "created_by"]
    ordering = ["-created_at", "-pk"]
    show_change_link = True


@admin.register(Account)
class AccountAdmin(CustomerPageLink, ModelAdmin):
    list_display = ["user", "balance", "currency", "created_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "balance", "currency", "created_at"]
    inlines = [LedgerInline]
    change_form_template = "admin/billing/account/change_form.html"

    def has_add_permission(self, request):
        return False  # accounts open with the customer's first deposit or order

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [path("<int:pk>/adjust/", adjust, name="billing_account_adjust"), *super().get_urls()]

    def adjust_view(self, request, pk):
        if not moves_money(request.user):
            return redirect("admin:index")
        account = get_object_or_404(Account.objects.select_related("user"), pk=pk)
        # Where the form was posted from (the customer page): a path of this site, else the account's page.
        back = request.POST.get("next") or request.GET.get("next", "")
        if not (
            back.startswith("/")
            and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure())
        ):
            back = reverse("admin:billing_account_change", args=[account.pk])
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = balance_adjust(
                    account=account,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except (InsufficientFunds, BalanceLimit) as error:
                form.add_error("amount", str(error))
            else:
                self.message_user(
                    request,
                    f"{account.user}: {entry.amount:+} → balance {entry.balance_after}",
                    messages.SUCCESS,
                )
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust the balance of {account.user}",
            "account": account,
            "form": form,
            "next": back,
            "opts": self.model._meta,
        }
        return render(request, "admin/billing/account/adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(LongListAdmin, CsvExportAdmin, ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "amount", "balance_after", "reference", "created_by"]
    list_filter = ["kind", ("created_at", RangeDateTimeFilter)]  # a range: no date hierarchy (LongListAdmin)
    list_filter_submit = True
    search_fields = ["account__user__username", "reference", "reason", "idempotency_key"]
    list_select_related = ["account__user", "created_by"]

    def csv_columns(self, request):
        # Not the idempotency key: an internal handle, of no use in a spreadsheet.
        return [
            ("id", lambda e: e.pk),
            ("created_at", lambda e: e.created_at.isoformat()),
            ("customer", lambda e: e.account.user.username),
            ("kind", lambda e: e.kind),
            ("amount", lambda e: e.amount),
            ("balance_after", lambda e: e.balance_after),
            ("reference", lambda e: e.reference),
            ("reason", lambda e: e.reason),
            ("by", lambda e: e.created_by.username if e.created_by else ""),
        ]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ModelAdmin):
    """The ways customers may add funds: a processor's page or a manual transfer, each with its limits, fee,
    bonus and (manual) instructions. A processor's method is offered only where the processor is enabled
    (``PAYMENT_GATEWAYS`` and its secrets); one that top-ups used is disabled, never deleted."""

    list_display = [
        "name",
        "code",
        "processor",
        "currency",
        "enabled",
        "position",
        "min_amount",
        "max_amount",
        "fee_percent",
        "fee_fixed",
        "fee_payer",
        "bonus_percent",
        "bonus_from",
    ]
    list_editable = ["enabled", "position"]
    list_filter = ["processor", "enabled"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "code", "processor", "currency", "enabled", "position"]}),
        ("Limits", {"fields": ["min_amount", "max_amount"]}),
        (
            "Fee and bonus",
            {"fields": ["fee_percent", "fee_fixed", "fee_payer", "bonus_percent", "bonus_from"]},
        ),
        ("Crypto", {"fields": ["accept_partial"]}),
        ("Manual methods", {"fields": ["instructions"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.topups.exists())


class ApproveForm(ActionForm):
    """Nothing to fill: the page that lists the payments is the confirmation."""


class RejectForm(ActionForm):
    note = forms.CharField(max_length=255, help_text="Shown to the customer.")


@admin.register(TopUp)
class TopUpAdmin(ActionsOnlyAdmin):
    """Customers' payments: approve a manual one once the money arrived (one ledger credit), or reject."""

    list_display = [
        "pk",
        "created_at",
        "user",
        "method",
        "amount",
        "currency",
        "charge_amount",
        "charge_currency",
        "reference",
        "status",
        "decided_by",
    ]
    list_filter = ["status", "method", "created_at"]
    search_fields = ["user__username", "user__email", "reference", "gateway_reference", "payment_reference"]
    list_select_related = ["user", "decided_by"]
    actions = ["approve", "reject"]

    def _decide(self, request, queryset, decide) -> int:
        """``decide`` each selected top-up; how many it changed. A gateway payment is refused, with why."""
        changed = 0
        for topup in queryset:
            try:
                changed += decide(topup)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
        return changed

    # Approving credits money nobody can take back by an action: the operator sees who gets how much first.
    @admin.action(description="Approve: the money arrived (credits the balance)…", permissions=["change"])
    @asks(
        ApproveForm,
        title="Credit {count} payment(s)",
        submit="Credit the balances",
        help="Only for money you see in the account it was sent to: each amount is credited to its customer "
        "at once.",
        describe=lambda queryset: [
            f"{topup.user} — {topup.amount} by {topup.get_method_display()}, ref. {topup.reference or '—'}"
            for topup in queryset.select_related("user")
        ],
    )
    def approve(self, request, queryset, form):
        credited = self._decide(
            request, queryset, lambda topup: topup_approve(topup=topup, actor=request.user)
        )
        self.message_user(
            request, f"{credited} payment(s) credited; others were already decided.", messages.SUCCESS
        )

    @admin.action(description="Reject the selected payments…", permissions=["change"])
    @asks(RejectForm, title="Reject {count} payment(s)", submit="Reject")
    def reject(self, request, queryset, form):
        note = form.cleaned_data["note"]
        rejected = self._decide(
            request, queryset, lambda topup: topup_reject(topup=topup, actor=request.user, note=note)
        )
        self.message_user(request, f"{rejected} payment(s) rejected.", messages.SUCCESS)
        return None


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ReadOnlyAdmin):
    """Every notification a processor sent: what it said and what it did — refused ones (a bad signature, a
    tampered amount, a payment not ours) are the ones to look at."""

    list_display = ["received_at", "processor", "kind", "topup", "amount", "currency", "outcome", "detail"]
    list_filter = ["outcome", "processor", "kind"]
    search_fields = ["event_id", "detail", "topup__gateway_reference", "topup__payment_reference"]
    list_select_related = ["topup"]
    date_hierarchy = "received_at"
