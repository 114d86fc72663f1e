"""Adding funds: a manual payment an operator approves, or a processor payment its signed notifications
decide. Either way the ledger is credited once (``deposit:topup:<id>``), in the same transaction as the
decision.

Each kind has one judge: an operator decides manual payments only (approving a processor payment that was
never paid would credit money nobody sent; rejecting one that the processor then takes would keep that money),
and only the processor's signed notifications decide a processor payment — a signed "paid" credits it even
after an earlier "canceled", because the money moved; a refund or a dispute at the processor takes the
deposit back, overdrawing the balance if it must (the money is gone already). Every notification is kept in
``PaymentNotification``: a repeated one changes nothing, a forged or tampered one is refused and logged.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from audit.services import audit_record
from billing.fees import CENT, NoRate, topup_quote
from billing.gateways import enabled_gateway, enabled_gateways
from billing.models import LedgerEntry, PaymentMethod, PaymentNotification, TopUp, TopUpEvent
from billing.money import to_money
from billing.processors.base import NotificationRefused, PaymentEvent, ProcessorUnavailable
from billing.processors.stripe import minor_units
from billing.services import account_for, balance_change
from catalogue.pricing import currency_rates
from referrals.services import commission_credit, commission_reverse
from reseller.states import transition

logger = logging.getLogger(__name__)
N = PaymentNotification.Outcome
K = LedgerEntry.Kind

MIN_TOPUP = Decimal("1")
MAX_TOPUP = Decimal("100000")


def offered_methods() -> dict[str, PaymentMethod]:
    """What customers may pay with, by code, in the funds page's order: the enabled methods whose processor is
    enabled here (``billing.gateways``; a manual method needs none) and whose currency has a rate."""
    processors = {TopUp.Method.MANUAL, *enabled_gateways()}
    currencies = currency_rates()
    return {
        method.code: method
        for method in PaymentMethod.objects.filter(enabled=True, processor__in=processors)
        if method.currency in currencies
    }


def topup_methods() -> list[tuple[str, str]]:
    """The funds form's choices."""
    return [(code, method.name) for code, method in offered_methods().items()]


def topup_request(*, user, amount: Decimal, method: str, reference: str = "") -> TopUp:
    """A top-up of ``amount`` (added to the balance) with the offered method whose code is ``method``; its fee
    and bonus as the method says (``billing.fees``). Raises ``ValidationError`` per field."""
    payment_method = offered_methods().get(method)
    if payment_method is None:
        raise ValidationError({"method": _("Choose a payment method.")})
    manual = payment_method.processor == TopUp.Method.MANUAL
    if manual and not reference.strip():
        raise ValidationError({"reference": _("Give the reference of your payment so we can find it.")})
    amount = to_money(amount)
    low, high = max(MIN_TOPUP, payment_method.min_amount), min(MAX_TOPUP, payment_method.max_amount)
    if not low <= amount <= high:
        low, high = (limit.quantize(CENT) for limit in (low, high))
        raise ValidationError(
            {
                "amount": _("With %(method)s, add between %(low)s and %(high)s.")
                % {"method": payment_method.name, "low": low, "high": high}
            }
        )
    try:
        quote = topup_quote(method=payment_method, amount=amount)
    except NoRate:
        raise ValidationError({"method": _("Choose a payment method.")}) from None  # its rate went meanwhile
    if payment_method.processor == TopUp.Method.STRIPE:
        try:
            minor_units(quote.charge_amount, quote.charge_currency)
        except ValueError:
            raise ValidationError(
                {"amount": _("Cards are charged in whole cents: round the amount.")}
            ) from None
    return TopUp.objects.create(
        user=user,
        payment_method=payment_method,
        method=payment_method.processor,
        amount=quote.amount,
        fee=quote.fee,
        bonus=quote.bonus,
        pay_amount=quote.pay_amount,
        charge_amount=quote.charge_amount,
        charge_currency=quote.charge_currency,
        reference=reference.strip()[:120] if manual else "",
    )


@dataclass(frozen=True)
class Credited:
    """What a top-up credits for what arrived: the deposit (all that arrived), the fee (its share of it) and
    the bonus (on the amount, if that still reaches the method's threshold)."""

    deposit: Decimal
    fee: Decimal
    bonus: Decimal

    @property
    def amount(self) -> Decimal:
        return self.deposit - self.fee


def credited_for(topup: TopUp, received: Decimal) -> Credited:
    if received == topup.to_pay:
        return Credited(deposit=received, fee=topup.fee, bonus=topup.bonus)
    amount = to_money(topup.amount * received / topup.to_pay)
    bonus = (
        topup_quote(method=topup.payment_method, amount=amount).bonus
        if topup.payment_method
        else to_money(topup.bonus * received / topup.to_pay)
    )
    return Credited(deposit=received, fee=received - amount, bonus=bonus)


def _credit(
    topup: TopUp, *, actor=None, gateway_reference: str = "", message: str, received: Decimal | None = None
) -> bool:
    """Credit a locked top-up for what arrived in all (``received``; what it asked when none is said): the
    deposit, the fee the customer paid and the bonus, each its own ledger entry. More arriving later (a crypto
    payment completed after a partial one was credited) credits the difference. False when there is nothing
    to do (already decided, a repeated notification or click)."""
    received = topup.to_pay if received is None else to_money(received)
    first = topup.status != TopUp.Status.CREDITED
    if first and not TopUp.states.allows(topup.status, TopUp.Status.CREDITED):
        return False
    if not first and received <= topup.received:
        return False
    figures = credited_for(topup, received)
    _ledger_to(topup, figures, actor=actor)
    commission_credit(topup=topup, amount=figures.amount)  # the referrer's share, in this transaction
    topup.received = received
    changes = {"received": received}
    if first:
        changes |= {"decided_by": actor, "gateway_reference": gateway_reference or topup.gateway_reference}
        # The customer is mailed once this commits (notifications hears the move).
        transition(topup, TopUp.Status.CREDITED, message=message, actor=actor, changes=changes)
    else:
        TopUp.objects.filter(pk=topup.pk).update(**changes)
        TopUpEvent.objects.create(
            topup=topup, from_status=topup.status, to_status=topup.status, message=message[:255], actor=actor
        )
    return True


def _ledger_to(topup: TopUp, figures: Credited, *, actor) -> None:
    """Bring the top-up's deposit, fee and bonus entries to ``figures``, writing the difference from what is
    there: once per level reached. A processor's payment is in the keys (``deposit:stripe:<session>``): it
    credits once, whatever top-up a notification names; a manual one has the top-up's
    (``deposit:topup:<id>``)."""
    reference = f"top-up {topup.pk}"
    paid_by = f"{topup.method}:{topup.gateway_reference}" if topup.gateway_reference else f"topup:{topup.pk}"
    there = dict(
        LedgerEntry.objects.filter(reference=reference, kind__in=[K.DEPOSIT, K.FEE, K.BONUS])
        .values_list("kind")
        .annotate(total=Sum("amount"))
    )
    for kind, name, target in (
        (K.DEPOSIT, "deposit", figures.deposit),
        (K.FEE, "fee", -figures.fee),
        (K.BONUS, "bonus", figures.bonus),
    ):
        before = there.get(kind) or Decimal(0)
        if target == before:
            continue
        balance_change(
            account=account_for(topup.user),
            amount=target - before,
            kind=kind,
            idempotency_key=f"{name}:{paid_by}" + (f":{target}" if before else ""),
            reference=reference,
            actor=actor,
        )


def charged(topup: TopUp) -> Decimal:
    """What the customer is asked, in ``charged_in``: the method's currency (older top-ups: the panel's)."""
    return topup.charge_amount if topup.charge_amount is not None else topup.to_pay


def charged_in(topup: TopUp) -> str:
    return topup.charge_currency or topup.currency


def in_panel_money(topup: TopUp, amount: Decimal) -> Decimal:
    """A processor's ``amount`` (in what the top-up was charged in) as the panel's money: its share of what
    was asked is that share of what the top-up pays in the panel's money, whatever the rate since."""
    if charged(topup) == topup.to_pay and charged_in(topup) == topup.currency:
        return to_money(amount)
    return to_money(topup.to_pay * to_money(amount) / charged(topup))


def _manual(topup: TopUp) -> TopUp:
    if topup.method != TopUp.Method.MANUAL:
        raise ValidationError(
            f"Top-up #{topup.pk} is a {topup.get_method_display()} payment: only the gateway's signed "
            "answer decides it."
        )
    return topup


def topup_approve(*, topup: TopUp, actor) -> bool:
    """The operator saw the manual payment arrive. ``ValidationError`` for a gateway payment."""
    with transaction.atomic():
        locked = _manual(TopUp.objects.select_for_update().get(pk=topup.pk))
        if locked.status != TopUp.Status.PENDING:
            return False
        _credit(locked, actor=actor, message=f"Approved by {actor}: the payment arrived.")
        changes = {"status": [TopUp.Status.PENDING, TopUp.Status.CREDITED]}
        audit_record(actor=actor, verb="approve", target=locked, changes=changes)
        return True


def topup_reject(*, topup: TopUp, actor, note: str) -> bool:
    """The manual payment never arrived. ``ValidationError`` for a gateway payment."""
    with transaction.atomic():
        locked = _manual(TopUp.objects.select_for_update().get(pk=topup.pk))
        if locked.status != TopUp.Status.PENDING:
            return False
        note = note.strip()[:255]
        changes = {"note": note, "decided_by": actor}
        transition(
            locked,
            TopUp.Status.REJECTED,
            message=f"Rejected by {actor}: {note}"[:255],
            actor=actor,
            changes=changes,
        )
        changes = {"status": [TopUp.Status.PENDING, TopUp.Status.REJECTED]}
        audit_record(actor=actor, verb="reject", target=locked, changes=changes, reason=note)
        return True


def topup_checkout(*, topup: TopUp, success_url: str, cancel_url: str, notify_url: str) -> str:
    """Create a new processor top-up's payment at its processor; the URL of the hosted payment page to send
    the customer to. ``ProcessorUnavailable`` when that fails: the top-up is canceled (nothing was paid)."""
    processor = enabled_gateway(topup.method)
    try:
        checkout = processor.start(
            topup_id=topup.pk,
            amount=charged(topup),
            currency=charged_in(topup),
            description=f"Top-up #{topup.pk}",
            success_url=success_url,
            cancel_url=cancel_url,
            notify_url=notify_url,
        )
    except ProcessorUnavailable as error:
        with transaction.atomic():
            locked = TopUp.objects.select_for_update().get(pk=topup.pk)
            transition(locked, TopUp.Status.CANCELED, message=f"Not started: {error}"[:255])
        raise
    TopUp.objects.filter(pk=topup.pk).update(
        gateway_reference=checkout.reference[:120], checkout_url=checkout.redirect_url[:1000]
    )
    return checkout.redirect_url


def topup_notification(*, gateway: str, body: bytes, headers: Mapping[str, str]) -> list[PaymentNotification]:
    """Apply a processor's notification: each verified event once. Raises ``NotificationRefused`` (nothing
    changes; logged) for a forged or unreadable one, and ``GatewayNotEnabled`` for a processor that is not
    enabled here, however well signed."""
    processor = enabled_gateway(gateway)
    try:
        events = processor.parse_notification(body=body, headers=headers)
    except NotificationRefused as error:
        PaymentNotification.objects.create(processor=gateway, outcome=N.REFUSED, detail=str(error)[:255])
        logger.warning("Refused a %s notification: %s", gateway, error)
        raise
    return [_apply(gateway, event) for event in events]


def _apply(gateway: str, event: PaymentEvent) -> PaymentNotification:
    with transaction.atomic():
        topup = _topup_of(gateway, event)
        if topup is not None:
            earlier = PaymentNotification.objects.filter(processor=gateway, event_id=event.event_id).exclude(
                outcome=N.REFUSED
            )
            if repeated := earlier.first():
                return repeated  # delivered again (processors deliver at least once): nothing changes
            outcome, detail = _decide(gateway, topup, event)
        else:
            outcome, detail = N.REFUSED, "It names no payment of ours."
        if outcome == N.REFUSED:
            logger.warning("Refused a %s %s notification: %s", gateway, event.kind, detail)
        return PaymentNotification.objects.create(
            processor=gateway,
            event_id=event.event_id[:200],
            kind=event.kind,
            topup=topup,
            amount=event.amount,
            currency=event.currency[:8],
            outcome=outcome,
            detail=detail[:255],
        )


def _topup_of(gateway: str, event: PaymentEvent) -> TopUp | None:
    """The top-up ``event`` is about, locked: by our id when it carries it, else by the processor's ids."""
    topups = TopUp.objects.select_for_update().filter(method=gateway)
    if event.topup_id is not None:
        topup = topups.filter(pk=event.topup_id).first()
    elif event.reference:
        topup = topups.filter(gateway_reference=event.reference).first()
    else:
        topup = (
            topups.filter(payment_reference=event.payment_reference).first()
            if event.payment_reference
            else None
        )
    if topup is not None and event.reference and topup.gateway_reference not in ("", event.reference):
        return None  # our id on another checkout of the processor's: not this payment
    return topup


def _decide(gateway: str, topup: TopUp, event: PaymentEvent) -> tuple[str, str]:
    partial = event.kind == "partially_paid"
    if event.kind == "paid" or partial:
        arrived = in_panel_money(topup, event.amount)
        accepts_partial = topup.payment_method is not None and topup.payment_method.accept_partial
        # Short of what was asked (a partial payment, a tampered one): credited only where the method says so.
        if event.currency != charged_in(topup) or (arrived < topup.to_pay and not accepts_partial):
            if partial:
                return N.IGNORED, f"{arrived} {event.currency} of {topup.to_pay} arrived: not credited."
            return (
                N.REFUSED,
                f"It says {event.amount} {event.currency} was paid for {charged(topup)} {charged_in(topup)}.",
            )
        if event.payment_reference:
            topup.payment_reference = event.payment_reference[:120]
            TopUp.objects.filter(pk=topup.pk).update(payment_reference=topup.payment_reference)
        what = f"{arrived} of {topup.to_pay} arrived" if arrived != topup.to_pay else "paid"
        if not _credit(
            topup, gateway_reference=event.reference, message=f"{gateway}: {what}.", received=arrived
        ):
            return N.IGNORED, f"Already {topup.get_status_display().lower()}."
        _reverse_early_reversals(gateway, topup)
        return N.APPLIED, f"Credited for {arrived} {topup.currency} ({what})."
    if event.kind in ("failed", "expired", "canceled"):
        if topup.status != TopUp.Status.PENDING:
            return N.IGNORED, f"Already {topup.get_status_display().lower()}."
        transition(
            topup, TopUp.Status.CANCELED, message=f"{event.raw_status or event.kind} at {gateway}."[:255]
        )
        return N.APPLIED, "Canceled."
    if event.kind in ("refunded", "disputed"):
        if topup.status not in (TopUp.Status.CREDITED, TopUp.Status.REVERSED):
            return N.IGNORED, "Before the payment was credited: taken back when it is."
        back = in_panel_money(topup, event.amount)
        return N.APPLIED, _take_back(topup, back, why=f"{event.kind} at {gateway}")
    return N.IGNORED, f"Nothing to do ({event.raw_status or event.kind})."


def _take_back(topup: TopUp, amount: Decimal, *, why: str) -> str:
    """Debit what the processor took back of a credited top-up (however often it says so), overdrawing the
    balance if it must; the top-up is taken back once all of it is. The processor speaks of what was paid: a
    share of it takes back that share of what was credited (the amount and the bonus; the fee went back to
    the customer with the rest)."""
    taken = -(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL, reference=f"top-up {topup.pk}").aggregate(
            total=Sum("amount")
        )["total"]
        or Decimal(0)
    )
    received = topup.received if topup.received is not None else topup.to_pay
    figures = credited_for(topup, received)
    credited = figures.amount + figures.bonus
    # Processors say how much went back in all (a second partial refund says the total): the rest is due now.
    share = min(to_money(amount) or received, received) / received
    due = to_money(credited * share) - taken
    if due > 0:
        balance_change(
            account=account_for(topup.user),
            amount=-due,
            kind=LedgerEntry.Kind.REVERSAL,
            idempotency_key=f"reversal:topup:{topup.pk}:{taken + due}",
            reference=f"top-up {topup.pk}",
            reason=why,
            allow_overdraw=True,
        )
        # The commission was on the amount: its share goes back as the amount's did (the bonus is ours).
        commission_reverse(topup=topup, share=(taken + due) / credited)
        logger.warning("Top-up %s: %s %s taken back (%s)", topup.pk, due, topup.currency, why)
    if taken + max(due, Decimal(0)) >= credited and topup.status == TopUp.Status.CREDITED:
        transition(topup, TopUp.Status.REVERSED, message=f"Taken back: {why}."[:255])
    return f"{due} taken back." if due > 0 else "Already taken back."


def _reverse_early_reversals(gateway: str, topup: TopUp) -> None:
    """A refund or dispute that arrived before the payment (processors deliver out of order) applies now."""
    early = PaymentNotification.objects.filter(
        processor=gateway, topup=topup, kind__in=["refunded", "disputed"], outcome=N.IGNORED
    )
    for notification in early:
        why = f"{notification.kind} at {gateway}"
        back = in_panel_money(topup, notification.amount) if notification.amount else topup.received
        _take_back(topup, back, why=why)
