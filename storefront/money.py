"""The display currency: the customer may see amounts in another currency than the panel's, converted at the
stored rates (``catalogue.CurrencyRate``) — for display only. Balances, charges, the ledger and the API stay
in ``PANEL_CURRENCY``; a converted figure says it is approximate and what is charged."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.html import format_html

from catalogue.models import CurrencyRate


@dataclass(frozen=True)
class DisplayCurrency:
    code: str
    # How many units of the panel currency one unit of ``code`` buys (as ``CurrencyRate.rate``).
    rate: Decimal = Decimal(1)

    @property
    def converted(self) -> bool:
        return self.code != settings.PANEL_CURRENCY


PANEL = DisplayCurrency(settings.PANEL_CURRENCY)


def display_currencies() -> list[str]:
    """The currencies a customer may choose: the panel's, and those with a stored rate."""
    stored = CurrencyRate.objects.exclude(currency=settings.PANEL_CURRENCY).order_by("currency")
    return [settings.PANEL_CURRENCY, *stored.values_list("currency", flat=True)]


def display_currency_for(user) -> DisplayCurrency:
    """The currency ``user`` chose to see amounts in; the panel's when none was chosen or its rate is gone."""
    code = getattr(getattr(user, "profile", None), "display_currency", "") if user.is_authenticated else ""
    if not code or code == settings.PANEL_CURRENCY:
        return PANEL
    rate = CurrencyRate.objects.filter(currency=code).values_list("rate", flat=True).first()
    return DisplayCurrency(code, rate) if rate else PANEL


def amount_converted(amount: Decimal, currency: DisplayCurrency, *, places: int = 2) -> Decimal:
    """``amount`` (panel currency) in ``currency``, rounded half up to ``places`` — Decimal throughout."""
    return (Decimal(amount) / currency.rate).quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP)


def money_text(amount, currency: DisplayCurrency = PANEL, *, places: int = 2) -> str:
    """An amount as customers read it, always with its currency: the panel's exactly as stored, or a converted
    figure marked approximate (≈)."""
    if amount is None or amount == "":
        return ""
    amount = Decimal(amount)
    if not currency.converted:
        return f"{amount:f} {settings.PANEL_CURRENCY}"
    return f"≈ {amount_converted(amount, currency, places=places):f} {currency.code}"


def money_html(amount, currency: DisplayCurrency = PANEL, *, places: int = 2, exact: bool = False) -> str:
    """``money_text`` in a span; a converted figure carries the amount in the panel currency on hover, or
    beside it with ``exact`` (what was charged or refunded: "≈ 12.30 EUR (13.0000 USD)")."""
    if amount is None or amount == "":
        return ""
    panel = money_text(amount, PANEL)
    if not currency.converted:
        return format_html('<span class="money">{}</span>', panel)
    shown = money_text(amount, currency, places=places)
    if exact:
        return format_html(
            '<span class="money converted">{} <span class="muted">({})</span></span>', shown, panel
        )
    return format_html('<span class="money converted" title="{}">{}</span>', panel, shown)
