"""Referrals in the operator console: affiliates with their figures and commission rate (the one field an
operator edits; every save is in the audit trail), who referred whom, payouts to approve or reject, and the
read-only commission ledger."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from referrals.models import Affiliate, AffiliateEntry, AffiliatePayout, Referral
from referrals.selectors import affiliates_with_figures
from referrals.services import commission_percent, payout_approve, payout_reject
from reseller.admin_tools import ActionForm, ActionsOnlyAdmin, ModelAdmin, ReadOnlyAdmin, ReadOnlyInline, asks


class AffiliateEntryInline(ReadOnlyInline):
    model = AffiliateEntry
    fields = ["created_at", "kind", "amount", "balance_after", "topup", "payout", "reason"]
    ordering = ["-created_at", "-pk"]


@admin.register(Affiliate)
class AffiliateAdmin(ModelAdmin):
    list_display = ["user", "code", "rate", "referral_count", "paying_count", "earned", "available"]
    search_fields = ["user__username", "user__email", "=code"]
    list_select_related = ["user"]
    fields = ["user", "code", "commission_percent", "balance", "created_at"]
    readonly_fields = ["user", "code", "balance", "created_at"]
    inlines = [AffiliateEntryInline]

    def get_queryset(self, request):
        return affiliates_with_figures().select_related("user")

    def has_add_permission(self, request):
        return False  # a customer becomes an affiliate by opening their referrals page

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Commission")
    def rate(self, affiliate):
        own = affiliate.commission_percent is not None
        return format_html("{}%{}", commission_percent(affiliate), "" if own else " (the panel's)")

    @admin.display(description="Sign-ups", ordering="referral_count")
    def referral_count(self, affiliate):
        return affiliate.referral_count

    @admin.display(description="Paying", ordering="paying_count")
    def paying_count(self, affiliate):
        return affiliate.paying_count

    @admin.display(description="Earned", ordering="earned")
    def earned(self, affiliate):
        return affiliate.earned

    @admin.display(description="Available", ordering="balance")
    def available(self, affiliate):
        return affiliate.balance


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "referred", "referrer"]
    search_fields = ["referred__username", "referred__email", "referrer__user__username", "=referrer__code"]
    list_select_related = ["referred", "referrer__user"]
    date_hierarchy = "created_at"


@admin.register(AffiliateEntry)
class AffiliateEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "affiliate", "kind", "amount", "balance_after", "topup", "payout", "reason"]
    list_filter = ["kind"]
    search_fields = ["affiliate__user__username", "=affiliate__code", "idempotency_key", "reason"]
    list_select_related = ["affiliate__user", "topup", "payout"]
    date_hierarchy = "created_at"


class PayoutRejectForm(ActionForm):
    note = forms.CharField(max_length=255, help_text="Shown to the customer; the amount returns to them.")


@admin.register(AffiliatePayout)
class AffiliatePayoutAdmin(ActionsOnlyAdmin):
    """Payouts customers asked for (when ``REFERRAL_PAYOUTS_NEED_APPROVAL``): approve moves the amount into
    their main balance; reject returns it to their affiliate balance."""

    list_display = ["pk", "created_at", "affiliate", "amount", "status", "decided_by", "decided_at", "note"]
    list_filter = ["status", "created_at"]
    search_fields = ["affiliate__user__username", "=affiliate__code"]
    list_select_related = ["affiliate__user", "decided_by"]
    actions = ["approve", "reject"]

    @admin.action(description="Approve: move into the main balance", permissions=["change"])
    def approve(self, request, queryset):
        paid = sum(payout_approve(payout=payout, actor=request.user) for payout in queryset)
        self.message_user(request, f"{paid} payout(s) paid; others were already decided.", messages.SUCCESS)

    @admin.action(description="Reject the selected payouts…", permissions=["change"])
    @asks(PayoutRejectForm, title="Reject {count} payout(s)", submit="Reject")
    def reject(self, request, queryset, form):
        note = form.cleaned_data["note"]
        rejected = sum(payout_reject(payout=payout, actor=request.user, note=note) for payout in queryset)
        self.message_user(
            request, f"{rejected} payout(s) rejected; others were already decided.", messages.SUCCESS
        )
        return None
