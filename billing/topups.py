"""Adding funds: a manual payment an operator approves, or a gateway payment its signed callback confirms.
Either way the ledger is credited once (``deposit:topup:<id>``), in the same transaction as the decision.

Each kind has one judge: an operator decides manual payments only (approving a gateway payment that was
never paid would credit money nobody sent; rejecting one that the gateway then takes would keep that money),
and only the gateway's signed callback decides a gateway payment — a signed "paid" credits it even after an
earlier "canceled", because the money moved."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import audit_record
from billing.gateways import BadSignature, enabled_gateway, enabled_gateways
from billing.models import TopUp
from billing.money import to_money
from billing.services import account_for, balance_deposit
from reseller.states import transition

MIN_TOPUP = Decimal("1")
MAX_TOPUP = Decimal("100000")


def _checked_amount(amount: Decimal) -> Decimal:
    amount = to_money(amount)
    if not MIN_TOPUP <= amount <= MAX_TOPUP:
        raise ValidationError({"amount": f"Add between {MIN_TOPUP} and {MAX_TOPUP}."})
    return amount


def topup_methods() -> list[tuple[str, str]]:
    """What customers may pay with: a manual payment always, and the gateways enabled here."""
    labels = dict(TopUp.Method.choices)
    return [(TopUp.Method.MANUAL, labels[TopUp.Method.MANUAL])] + [
        (name, labels[name]) for name in enabled_gateways()
    ]


def topup_request(*, user, amount: Decimal, method: str, reference: str = "") -> TopUp:
    if method not in dict(topup_methods()):
        raise ValidationError({"method": "Choose a payment method."})
    if method == TopUp.Method.MANUAL and not reference.strip():
        raise ValidationError({"reference": "Give the reference of your payment so we can find it."})
    return TopUp.objects.create(
        user=user, amount=_checked_amount(amount), method=method, reference=reference.strip()[:120]
    )


def _credit(topup: TopUp, *, actor=None, gateway_reference: str = "", message: str) -> bool:
    """Credit a locked top-up the table lets be credited. False when it was already decided (a repeated
    callback or click)."""
    if not TopUp.states.allows(topup.status, TopUp.Status.CREDITED):
        return False
    balance_deposit(
        account=account_for(topup.user),
        amount=topup.amount,
        reference=f"top-up {topup.pk}",
        actor=actor,
        key=f"deposit:topup:{topup.pk}",
    )
    changes = {"decided_by": actor, "gateway_reference": gateway_reference or topup.gateway_reference}
    transition(topup, TopUp.Status.CREDITED, message=message, actor=actor, changes=changes)
    return True


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


def topup_gateway_callback(*, gateway: str, params: dict[str, str]) -> TopUp:
    """Apply a gateway's callback. Raises ``BadSignature`` (nothing changes) for a forged or garbled one, and
    ``GatewayNotEnabled`` for a gateway that is not enabled here, however well signed."""
    result = enabled_gateway(gateway).parse_callback(params)
    with transaction.atomic():
        topup = TopUp.objects.select_for_update().filter(pk=result.topup_id, method=gateway).first()
        if topup is None:
            raise BadSignature("The callback names no payment of ours.")
        if result.paid and result.amount != topup.amount:
            raise BadSignature("The callback's amount is not the payment's.")
        if result.paid:  # after a "canceled" too: a signed "paid" says the money moved
            _credit(
                topup,
                gateway_reference=result.gateway_reference,
                message=f"Paid: the {topup.get_method_display()} confirmed it.",
            )
        elif topup.status == TopUp.Status.PENDING:
            transition(topup, TopUp.Status.CANCELED, message=f"Canceled at the {topup.get_method_display()}.")
    return topup
