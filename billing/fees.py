"""What a top-up costs and brings: the method's fee (when the customer pays it) and bonus, worked out once,
the same for the funds page's preview and for the top-up itself."""

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from billing.models import PaymentMethod
from billing.money import to_money

CENT = Decimal("0.01")


@dataclass(frozen=True)
class TopUpQuote:
    amount: Decimal  # added to the balance
    fee: Decimal  # added to what the customer pays (0 when the panel absorbs it)
    bonus: Decimal  # added to the balance besides the amount

    @property
    def pay_amount(self) -> Decimal:
        return self.amount + self.fee

    @property
    def credited(self) -> Decimal:
        return self.amount + self.bonus


def topup_quote(*, method: PaymentMethod, amount: Decimal) -> TopUpQuote:
    """The fee is rounded up to the cent (it covers what the processor takes), the bonus down."""
    amount = to_money(amount)
    fee = Decimal(0)
    if method.fee_payer == PaymentMethod.FeePayer.CUSTOMER:
        fee = (amount * method.fee_percent / 100 + method.fee_fixed).quantize(CENT, rounding=ROUND_UP)
    bonus = Decimal(0)
    if method.bonus_percent and amount >= method.bonus_from:
        bonus = (amount * method.bonus_percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    return TopUpQuote(amount=amount, fee=to_money(fee), bonus=to_money(bonus))
