"""Money: the panel's own (customers' balances, prices, charges) with one precision and rounding rule, and
the providers' amounts, kept as the providers write them."""

from decimal import ROUND_HALF_UP, Decimal

MONEY_PLACES = 4
MONEY_QUANTUM = Decimal(10) ** -MONEY_PLACES
# Column shape of every customer-money field.
MONEY_FIELD = {"max_digits": 16, "decimal_places": MONEY_PLACES}
# Every amount and balance stays below this: what those columns hold.
MONEY_LIMIT = Decimal(10) ** (MONEY_FIELD["max_digits"] - MONEY_PLACES)
# The other book: what providers charge and hold, in their own currency and as precisely as they write it
# (never rounded to the panel's precision: a rate of 0.00012345 per unit is real).
PROVIDER_MONEY_FIELD = {"max_digits": 20, "decimal_places": 8}


def to_money(value: Decimal | int | str) -> Decimal:
    """Round to the panel's money precision (half up). Never pass a float."""
    if isinstance(value, float):
        raise TypeError("Money is never a float; pass a Decimal or a string")
    return Decimal(value).quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """Money as the APIs write it: a string, exact to the panel's precision, at least two decimals
    ("0.90", "12.3456", "10.00")."""
    text = format(to_money(value), "f")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"
