"""Referrals: attribution at sign-up, commissions on referrals' deposits, payouts into the main balance.

Every change of an affiliate balance goes through :func:`_entry_write`: it locks the affiliate row, returns
the earlier entry for a repeated idempotency key, and writes the entry with the new balance — the same rules
as ``billing.services.balance_change`` for the main balance, on the affiliate's own ledger.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from billing.models import LedgerEntry, TopUp
from billing.money import MONEY_LIMIT, to_money
from billing.services import account_for, balance_change
from referrals.models import Affiliate, AffiliateEntry, AffiliatePayout, Referral, ReferralVisit
from reseller.states import transition

E = AffiliateEntry.Kind
# Codes are read aloud and typed: no 0/o, 1/l/i.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 8


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def affiliate_for(user) -> Affiliate:
    """The customer's affiliate record, made with a fresh random code the first time it is needed."""
    affiliate, _ = Affiliate.objects.get_or_create(user=user, defaults={"code": _new_code})
    return affiliate


def referral_visit(*, code: str, visitor) -> Affiliate | None:
    """Count a visit of ``code``'s link today; the affiliate, or None for a code nobody has and for the
    affiliate following their own link (neither counted nor remembered)."""
    affiliate = Affiliate.objects.filter(code=code).first()
    if affiliate is None or affiliate.user_id == visitor.pk:
        return None
    today = timezone.localdate()
    visits = ReferralVisit.objects.filter(affiliate=affiliate, day=today)
    if not visits.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                ReferralVisit.objects.create(affiliate=affiliate, day=today, count=1)
        except IntegrityError:  # another visit made today's row first
            visits.update(count=F("count") + 1)
    return affiliate


def referral_record(*, referred, code: str) -> Referral | None:
    """``referred`` signed up carrying ``code``'s cookie. Nothing (None) for an unknown code, a customer
    already referred, or a self-referral: the referrer's own account or email (in any letter case)."""
    affiliate = Affiliate.objects.select_related("user").filter(code=code).first()
    if affiliate is None or affiliate.user_id == referred.pk:
        return None
    if affiliate.user.email and affiliate.user.email.casefold() == (referred.email or "").casefold():
        return None
    referral, _ = Referral.objects.get_or_create(referred=referred, defaults={"referrer": affiliate})
    return referral if referral.referrer_id == affiliate.pk else None


def commission_percent(affiliate: Affiliate) -> Decimal:
    if affiliate.commission_percent is not None:
        return affiliate.commission_percent
    return settings.REFERRAL_COMMISSION_PERCENT


def _entry_write(
    *, affiliate: Affiliate, amount: Decimal, kind: str, key: str, reason: str = "", topup=None, payout=None
) -> AffiliateEntry:
    """Change the affiliate balance by ``amount`` under the affiliate's row lock, once per ``key``. Only a
    commission taken back may overdraw it (the payout it paid may be spent already)."""
    amount = to_money(amount)
    if amount == 0:
        raise ValueError("A balance change of zero is not a change")
    with transaction.atomic():
        locked = Affiliate.objects.select_for_update().get(pk=affiliate.pk)
        if earlier := AffiliateEntry.objects.filter(idempotency_key=key).first():
            return earlier
        balance = locked.balance + amount
        if balance < 0 and kind != E.REVERSAL:
            raise ValidationError(f"The affiliate balance is {locked.balance}: {-amount} cannot be taken.")
        if balance >= MONEY_LIMIT:
            raise ValidationError(f"The affiliate balance must stay below {MONEY_LIMIT:,}.")
        Affiliate.objects.filter(pk=locked.pk).update(balance=balance)
        entry = AffiliateEntry.objects.create(
            affiliate=locked,
            kind=kind,
            amount=amount,
            balance_after=balance,
            idempotency_key=key,
            reason=reason[:255],
            topup=topup,
            payout=payout,
        )
    affiliate.balance = balance
    return entry


def commission_credit(*, topup: TopUp, amount: Decimal) -> AffiliateEntry | None:
    """The referrer's commission on ``amount`` of a deposit credited (in all, so far: a crypto payment may be
    credited in parts), the difference from what it earned on it before. Call it in the credit's transaction,
    so the deposit and its commission are written together or not at all."""
    referral = Referral.objects.select_related("referrer").filter(referred_id=topup.user_id).first()
    if referral is None:
        return None
    percent = commission_percent(referral.referrer)
    due_in_all = to_money(amount * percent / 100)
    earned = _total(topup, E.COMMISSION)
    if due_in_all <= earned:
        return None
    return _entry_write(
        affiliate=referral.referrer,
        amount=due_in_all - earned,
        kind=E.COMMISSION,
        key=f"commission:topup:{topup.pk}" + (f":{due_in_all}" if earned else ""),
        reason=f"{percent}% of top-up #{topup.pk} ({amount} {topup.currency}) by {topup.user}",
        topup=topup,
    )


def commission_reverse(*, topup: TopUp, share: Decimal) -> AffiliateEntry | None:
    """``share`` of the deposit (in all, so far) went back to the payer: the same share of the commission on
    it goes back, the whole of it once the whole deposit did. Call it in the take-back's transaction."""
    earned = _total(topup, E.COMMISSION)
    if earned <= 0:
        return None
    due_in_all = min(to_money(earned * share), earned)
    reversed_before = -_total(topup, E.REVERSAL)
    if due_in_all <= reversed_before:
        return None
    affiliate = AffiliateEntry.objects.filter(topup=topup, kind=E.COMMISSION).first().affiliate
    return _entry_write(
        affiliate=affiliate,
        amount=-(due_in_all - reversed_before),
        kind=E.REVERSAL,
        key=f"commission-reversal:topup:{topup.pk}:{due_in_all}",
        reason=f"{to_money(share * 100)}% of top-up #{topup.pk} went back to the payer",
        topup=topup,
    )


def _total(topup: TopUp, kind: str) -> Decimal:
    return AffiliateEntry.objects.filter(topup=topup, kind=kind).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal(0)


def payout_request(*, user) -> AffiliatePayout:
    """Move the whole available affiliate balance into the main balance — at once, or as a request an
    operator approves (``REFERRAL_PAYOUTS_NEED_APPROVAL``); its amount leaves the affiliate balance now either
    way, so it cannot be asked for twice. ``ValidationError`` below ``REFERRAL_PAYOUT_MINIMUM``."""
    minimum = settings.REFERRAL_PAYOUT_MINIMUM
    with transaction.atomic():
        affiliate = Affiliate.objects.select_for_update().get(pk=affiliate_for(user).pk)
        if affiliate.balance <= 0 or affiliate.balance < minimum:
            raise ValidationError(
                _("Payouts start at %(minimum)s; %(available)s is available.")
                % {"minimum": minimum, "available": affiliate.balance}
            )
        payout = AffiliatePayout.objects.create(affiliate=affiliate, amount=affiliate.balance)
        _entry_write(
            affiliate=affiliate,
            amount=-payout.amount,
            kind=E.PAYOUT,
            key=f"payout:{payout.pk}",
            reason=f"Referral payout #{payout.pk}",
            payout=payout,
        )
        if not settings.REFERRAL_PAYOUTS_NEED_APPROVAL:
            _pay(payout, actor=None, message="Paid at once.")
    return payout


def _pay(payout: AffiliatePayout, *, actor, message: str) -> None:
    """The main-balance side of a payout, once per payout: referral earnings, a kind of its own (neither money
    paid in nor an operator's correction)."""
    balance_change(
        account=account_for(payout.affiliate.user),
        amount=payout.amount,
        kind=LedgerEntry.Kind.REFERRAL,
        idempotency_key=f"referral-payout:{payout.pk}",
        reference=f"referral payout {payout.pk}",
        reason=f"Referral payout #{payout.pk}",
    )
    transition(
        payout, AffiliatePayout.Status.PAID, message=message, actor=actor, changes={"decided_by": actor}
    )


def _pending(payout: AffiliatePayout) -> AffiliatePayout | None:
    locked = AffiliatePayout.objects.select_for_update().select_related("affiliate__user").get(pk=payout.pk)
    return locked if locked.status == AffiliatePayout.Status.PENDING else None


def payout_approve(*, payout: AffiliatePayout, actor) -> bool:
    """The operator lets a requested payout into the main balance. False when it was already decided."""
    with transaction.atomic():
        if (locked := _pending(payout)) is None:
            return False
        _pay(locked, actor=actor, message=f"Approved by {actor}.")
        changes = {"status": [AffiliatePayout.Status.PENDING, AffiliatePayout.Status.PAID]}
        audit_record(actor=actor, verb="approve", target=locked, changes=changes)
        return True


def payout_reject(*, payout: AffiliatePayout, actor, note: str) -> bool:
    """The operator refuses a requested payout: its amount returns to the affiliate balance."""
    note = note.strip()[:255]
    with transaction.atomic():
        if (locked := _pending(payout)) is None:
            return False
        _entry_write(
            affiliate=locked.affiliate,
            amount=locked.amount,
            kind=E.PAYOUT_RETURNED,
            key=f"payout-returned:{locked.pk}",
            reason=f"Referral payout #{locked.pk} rejected: {note}",
            payout=locked,
        )
        changes = {"decided_by": actor, "note": note}
        transition(locked, AffiliatePayout.Status.REJECTED, message=note, actor=actor, changes=changes)
        changes = {"status": [AffiliatePayout.Status.PENDING, AffiliatePayout.Status.REJECTED]}
        audit_record(actor=actor, verb="reject", target=locked, changes=changes, reason=note)
        return True
