"""Referrals: who brought whom, the visits their links drew, and each affiliate's own balance — a ledger of
commissions, their reversals and payouts, kept apart from the customer's main balance (``billing``)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from billing.models import AppendOnlyEntry, OperatorDecided, TopUp
from billing.money import MONEY_FIELD
from reseller.states import StateTable


class Affiliate(models.Model):
    """A customer as a referrer: their link's code, their commission rate if the operator set one, and their
    affiliate balance (a cache of the sum of its entries, changed only under this row's lock)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="affiliate")
    code = models.CharField(max_length=16, unique=True, editable=False)
    balance = models.DecimalField(**MONEY_FIELD, default=0, editable=False)
    commission_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Of each referral's credited deposit. Empty: the panel's (REFERRAL_COMMISSION_PERCENT).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.user} ({self.code})"


class Referral(models.Model):
    """``referred`` signed up through ``referrer``'s link. Once per customer; a sign-up that is never
    confirmed is pruned with its user."""

    referrer = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="referrals")
    referred = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.referred} referred by {self.referrer.user}"


class ReferralVisit(models.Model):
    """Visits of an affiliate's link, counted per day: a storm of hits is one row growing, not many rows."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="visits")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["affiliate", "day"], name="referral_visit_per_day")]

    def __str__(self) -> str:
        return f"{self.count} visits of {self.affiliate.code} on {self.day}"


class AffiliatePayout(OperatorDecided):
    """An affiliate balance moved into the main balance: paid at once, or after an operator approves it.
    Its amount leaves the affiliate balance when it is asked for, and comes back if it is rejected."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("payout status", "Waiting for approval")
        PAID = "paid", pgettext_lazy("payout status", "Paid")
        REJECTED = "rejected", pgettext_lazy("payout status", "Rejected")

    states = StateTable(
        Status,
        transitions={
            Status.PENDING: {Status.PAID, Status.REJECTED},
            Status.PAID: set(),
            Status.REJECTED: set(),
        },
        final={Status.PAID, Status.REJECTED},
        public={status: status for status in Status},
    )

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(**MONEY_FIELD)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "referral payout"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="affiliate_payout_positive")]

    def __str__(self) -> str:
        return f"Referral payout #{self.pk}: {self.amount} ({self.get_status_display()})"

    def record_transition(self, *, source: str, message: str, public: str, actor, shown_before: str) -> None:
        """Its history is the affiliate ledger and the audit trail."""


class AffiliateEntry(AppendOnlyEntry):
    """One change of one affiliate balance, written with it under the affiliate's row lock; never edited.
    Every entry has an idempotency key: a commission once per top-up, a payout once."""

    class Kind(models.TextChoices):
        COMMISSION = "commission", pgettext_lazy("affiliate entry", "Commission")
        # The deposit it was earned on went back (refund, dispute): may overdraw, the payout may be spent.
        REVERSAL = "reversal", pgettext_lazy("affiliate entry", "Commission taken back")
        PAYOUT = "payout", pgettext_lazy("affiliate entry", "Payout")
        PAYOUT_RETURNED = "payout_returned", pgettext_lazy("affiliate entry", "Payout rejected")

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**MONEY_FIELD, help_text="Positive credits the balance, negative debits it.")
    balance_after = models.DecimalField(**MONEY_FIELD)
    idempotency_key = models.CharField(max_length=120, unique=True)
    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payout = models.ForeignKey(
        AffiliatePayout, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "commission ledger entry"
        verbose_name_plural = "commission ledger"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="affiliate_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0) | Q(amount__gt=0) | Q(kind="reversal"),
                name="affiliate_debit_never_overdraws",
            ),
        ]
