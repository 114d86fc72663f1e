"""Customer balances and the append-only ledger that explains every change of them."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.money import MONEY_FIELD
from reseller.states import StateTable


def panel_currency() -> str:
    return settings.PANEL_CURRENCY


class Account(models.Model):
    """A customer's balance in the panel's currency: a cache of the sum of its ledger."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account")
    balance = models.DecimalField(**MONEY_FIELD, default=0, editable=False)
    currency = models.CharField(max_length=3, default=panel_currency, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} {self.currency})"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Ledger entries are never changed")

    def delete(self):
        raise PermissionError("Ledger entries are never deleted")


class AppendOnlyEntry(models.Model):
    """A row of a ledger: written once with the change it records, never changed or deleted — here, in bulk,
    and by the database itself (a trigger in each ledger's migrations)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+} → {self.balance_after}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Ledger entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Ledger entries are never deleted")


class LedgerEntry(AppendOnlyEntry):
    """One change of one balance. Written with the change, under the account's row lock; never edited."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", pgettext_lazy("ledger entry", "Deposit")
        CHARGE = "charge", pgettext_lazy("ledger entry", "Charge")
        REFUND = "refund", pgettext_lazy("ledger entry", "Refund")
        ADJUSTMENT = "adjustment", pgettext_lazy("ledger entry", "Adjustment")
        # A deposit the processor took back (a refund at the processor, a dispute): may overdraw the balance.
        REVERSAL = "reversal", pgettext_lazy("ledger entry", "Deposit taken back")
        FEE = "fee", pgettext_lazy("ledger entry", "Payment fee")
        BONUS = "bonus", pgettext_lazy("ledger entry", "Deposit bonus")
        # Referral commissions moved from the affiliate balance (``referrals``), never money paid in.
        REFERRAL = "referral", pgettext_lazy("ledger entry", "Referral earnings")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**MONEY_FIELD, help_text="Positive credits the balance, negative debits it.")
    balance_after = models.DecimalField(**MONEY_FIELD)
    # Makes a charge or refund happen once however often it is attempted: e.g. "charge:order:42".
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    reference = models.CharField(max_length=120, blank=True, help_text="What it refers to, e.g. order 42.")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "ledger entries"
        indexes = [
            # A customer's balance history, newest first, paged by cursor (REST) or offset (the website)
            # without sorting or counting it, however long it grows.
            models.Index(fields=["account", "-created_at", "-id"], name="ledger_account_newest"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            # No debit overdraws a balance, but a deposit the processor took back: the money is gone already.
            models.CheckConstraint(
                condition=Q(balance_after__gte=0) | Q(amount__gt=0) | Q(kind="reversal"),
                name="ledger_debit_never_overdraws",
            ),
        ]

    @property
    def customer_reason(self) -> str:
        """The reason the customer sees: an operator's adjustment says why (``balance_adjust`` asks for it,
        and the form says the customer reads it). Other entries' reasons are written for the operator (a
        refund's may quote the provider): the customer sees their reference only."""
        return self.reason if self.kind == self.Kind.ADJUSTMENT else ""


class Processor(models.TextChoices):
    """Who takes a payment: an operator by hand, or a processor's hosted page (``billing.processors``)."""

    MANUAL = "manual", _("Manual payment")
    SANDBOX = "sandbox", _("Sandbox card gateway")
    STRIPE = "stripe", _("Card (Stripe)")
    NOWPAYMENTS = "nowpayments", _("Crypto (NOWPayments)")


class PaymentMethod(models.Model):
    """A way to add funds that the operator offers: a processor (or a manual transfer), with its limits, fee,
    bonus and, for a manual one, the instructions customers follow. Offered while enabled and while its
    processor is (``billing.gateways``: ``PAYMENT_GATEWAYS`` and its secrets); a manual one always."""

    class FeePayer(models.TextChoices):
        CUSTOMER = "customer", "The customer (added to what they pay)"
        PANEL = "panel", "The panel (absorbed)"

    code = models.SlugField(
        max_length=40, unique=True, help_text="In the funds form and the API: e.g. bank-transfer-eur."
    )
    name = models.CharField(max_length=80, help_text="What customers see, e.g. Bank transfer (EUR).")
    processor = models.CharField(max_length=16, choices=Processor.choices)
    currency = models.CharField(
        max_length=3,
        default=panel_currency,
        help_text="What customers pay in (ISO code). Another than the panel's is converted at the currency "
        "rates; without a rate for it the method is not offered.",
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Smaller first on the funds page.")
    min_amount = models.DecimalField(
        **MONEY_FIELD, default=Decimal(1), validators=[MinValueValidator(Decimal("0.01"))]
    )
    max_amount = models.DecimalField(
        **MONEY_FIELD, default=Decimal(100000), validators=[MinValueValidator(Decimal("0.01"))]
    )
    fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))],
    )
    fee_fixed = models.DecimalField(
        **MONEY_FIELD, default=Decimal(0), validators=[MinValueValidator(Decimal(0))]
    )
    fee_payer = models.CharField(max_length=16, choices=FeePayer.choices, default=FeePayer.CUSTOMER)
    bonus_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Added to deposits of at least the bonus threshold, e.g. 5 for +5%.",
    )
    bonus_from = models.DecimalField(
        **MONEY_FIELD,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text="The bonus threshold.",
    )
    accept_partial = models.BooleanField(
        "credit partial payments",
        default=False,
        help_text="Crypto: a payment that arrives short is credited for what arrived (otherwise it waits for "
        "the rest, and the operator sees it in the payment notifications).",
    )
    instructions = models.TextField(
        blank=True,
        help_text="Manual methods: where to send the money (Markdown). Customers see it with the reference "
        "they must give.",
    )

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__lte=models.F("max_amount")), name="payment_method_min_within_max"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OperatorDecided(models.Model):
    """A request an operator (or a processor) decides once: when it was made and decided, by whom, and the
    reason a refusal gives the customer. Every move of its state table is that decision."""

    note = models.CharField(
        max_length=255, blank=True, help_text="Why it was rejected, shown to the customer."
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def public_status(self) -> str:
        return self.states.public[self.status].label

    def on_transition(self, source: str, to: str) -> dict:
        return {"decided_at": timezone.now()}


class TopUp(OperatorDecided):
    """A customer's request to add funds: paid by hand (approved by an operator) or through a gateway.
    It credits the ledger once (``billing.topups``: the processor's payment, or the top-up, in the keys)."""

    Method = Processor

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("payment status", "Waiting")
        CREDITED = "credited", pgettext_lazy("payment status", "Credited")
        REJECTED = "rejected", pgettext_lazy("payment status", "Rejected")
        CANCELED = "canceled", pgettext_lazy("payment status", "Canceled")
        REVERSED = "reversed", pgettext_lazy("payment status", "Taken back")

    states = StateTable(
        Status,
        transitions={
            Status.PENDING: {Status.CREDITED, Status.REJECTED, Status.CANCELED},
            # A gateway's signed "paid" after its "canceled": the money moved, so it is credited.
            Status.CANCELED: {Status.CREDITED},
            # Refunded at the processor or disputed: the deposit is debited again, whatever the balance.
            Status.CREDITED: {Status.REVERSED},
            Status.REJECTED: set(),
            Status.REVERSED: set(),
        },
        final={Status.CREDITED, Status.REJECTED, Status.CANCELED, Status.REVERSED},
        public={status: status for status in Status},  # customers see our own words ("Waiting", …)
    )

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups")
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, null=True, blank=True, related_name="topups"
    )
    method = models.CharField(max_length=16, choices=Method.choices, help_text="The processor.")
    amount = models.DecimalField(**MONEY_FIELD, help_text="Added to the balance (before any bonus).")
    fee = models.DecimalField(
        **MONEY_FIELD, default=Decimal(0), help_text="The method's fee, if the customer pays it."
    )
    bonus = models.DecimalField(**MONEY_FIELD, default=Decimal(0))
    pay_amount = models.DecimalField(
        **MONEY_FIELD, null=True, blank=True, help_text="What the customer pays: the amount and the fee."
    )
    charge_amount = models.DecimalField(
        **MONEY_FIELD, null=True, blank=True, help_text="What the customer is asked, in its currency."
    )
    charge_currency = models.CharField(max_length=3, blank=True)
    received = models.DecimalField(
        **MONEY_FIELD,
        null=True,
        blank=True,
        help_text="What arrived in all, as credited: short of what was asked (a partial crypto payment "
        "credited) or more (an overpayment).",
    )
    currency = models.CharField(max_length=3, default=panel_currency, editable=False)
    reference = models.CharField(
        max_length=120, blank=True, help_text="The customer's payment reference (manual payments)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    gateway_reference = models.CharField(
        max_length=120, blank=True, help_text="The processor's id of the checkout (its hosted payment page)."
    )
    checkout_url = models.URLField(
        max_length=1000, blank=True, help_text="The processor's hosted payment page for it."
    )
    payment_reference = models.CharField(
        max_length=120,
        blank=True,
        help_text="The processor's id of the payment: refunds and disputes name it.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "top-up"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="topup_amount_positive")]

    def __str__(self) -> str:
        return f"Top-up #{self.pk}: {self.amount} {self.currency} ({self.get_status_display()})"

    @property
    def to_pay(self) -> Decimal:
        """What the customer pays: the amount and the fee they pay (top-ups from before fees: the amount)."""
        return self.pay_amount if self.pay_amount is not None else self.amount

    @property
    def customer_id(self) -> int:
        """Whose it is: who is told of it (mails)."""
        return self.user_id

    def record_transition(self, *, source: str, message: str, public: str, actor, shown_before: str) -> None:
        TopUpEvent.objects.create(
            topup=self, from_status=source, to_status=self.status, message=message, actor=actor
        )


class TopUpEvent(models.Model):
    """A top-up's history: who decided it, when, and why (a gateway's callback has no actor)."""

    topup = models.ForeignKey(TopUp, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    message = models.CharField(max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Event #{self.pk} of top-up #{self.topup_id}"


class PaymentNotification(models.Model):
    """Every notification a processor sent, verified or not: the operator's log, and how a repeated one is
    recognised (``event_id``) and changes nothing."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Nothing to do"
        REFUSED = "refused", "Refused"

    processor = models.CharField(max_length=16)
    event_id = models.CharField(max_length=200, blank=True, help_text="Empty when it was refused unread.")
    kind = models.CharField(max_length=16, blank=True)
    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    currency = models.CharField(max_length=8, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "event_id"],
                condition=~Q(event_id="") & ~Q(outcome="refused"),
                name="payment_notification_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.processor} {self.kind or '?'} → {self.get_outcome_display()}"
