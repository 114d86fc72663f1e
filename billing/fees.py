"""What a top-up costs and brings: the method's fee (when the customer pays it) and bonus, and what the
customer is asked in the method's currency, worked out once, the same for the funds page's preview and for
the top-up itself."""

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.conf import settings

from billing.models import PaymentMethod
from billing.money import to_money
from catalogue.pricing import currency_rates

CENT = Decimal("0.01")


@dataclass(frozen=True)
class TopUpQuote:
    amount: Decimal  # added to the balance
    fee: Decimal  # added to what the customer pays (0 when the panel absorbs it)
    bonus: Decimal  # added to the balance besides the amount
    charge_amount: Decimal  # what the customer is asked: amount and fee, in the method's currency
    charge_currency: str

    @property
    def pay_amount(self) -> Decimal:
        return self.amount + self.fee

    @property
    def credited(self) -> Decimal:
        return self.amount + self.bonus


class NoRate(LookupError):
    """No currency rate for the method's currency: it cannot be offered."""


def charge_in(currency: str, amount: Decimal) -> Decimal:
    """``amount`` of the panel's money in ``currency``, at the currency rates, rounded up to the cent (the
    customer pays at least what is credited). ``NoRate`` without a rate."""
    if currency == settings.PANEL_CURRENCY:
        return amount
    rate = currency_rates().get(currency)
    if rate is None:
        raise NoRate(currency)
    return to_money((amount / rate).quantize(CENT, rounding=ROUND_UP))


def topup_quote(*, method: PaymentMethod, amount: Decimal) -> TopUpQuote:
    """The fee is rounded up to the cent (it covers what the processor takes), the bonus down. ``NoRate``
    for a method in a currency without a rate."""
    amount = to_money(amount)
    fee = Decimal(0)
    if method.fee_payer == PaymentMethod.FeePayer.CUSTOMER:
        fee = (amount * method.fee_percent / 100 + method.fee_fixed).quantize(CENT, rounding=ROUND_UP)
    bonus = Decimal(0)
    if method.bonus_percent and amount >= method.bonus_from:
        bonus = (amount * method.bonus_percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    fee, bonus = to_money(fee), to_money(bonus)
    return TopUpQuote(
        amount=amount,
        fee=fee,
        bonus=bonus,
        charge_amount=charge_in(method.currency, amount + fee),
        charge_currency=method.currency,
    )
