"""Margins: what a price earns over its current cost, and the rule that nothing is sold under cost unless
the operator says so.

A service's cost is its provider's rate x the stored ``CurrencyRate``, in the panel currency, rounded *up* to
the money precision (rounding never flatters a margin). A cost that cannot be known (no rate for the
provider's currency, a currency never synced) is said so, never guessed, and refuses nothing.

Every way of setting a price — a service's hand-set price, a customer's custom price or discount, a markup
rule, publishing and repricing — runs a check here, and ``allow_loss`` is the operator's explicit
confirmation; admin forms only carry it. A cost rise after a price was set is not refused (nobody set
anything): ``storefront_losses`` finds it for the dashboard.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.core.exceptions import ValidationError

from billing.money import MONEY_QUANTUM
from catalogue.models import CustomerPricing, CustomerServicePrice, MarkupRule, Service
from catalogue.pricing import (
    PriceUnavailable,
    converted_cost,
    currency_rates,
    discounted_price,
    markup_rule_for,
    storefront_price,
)
from panels.models import ProviderService

ACCEPT_LOSS = "I accept selling at a loss"
# A refusal names this many prices, the worst first, and counts the rest.
NAMED_IN_REFUSAL = 10


@dataclass(frozen=True)
class Margin:
    price: Decimal
    cost: Decimal | None  # None: unknown, and ``unknown`` says why
    unknown: str = ""

    @property
    def amount(self) -> Decimal | None:
        return None if self.cost is None else self.price - self.cost

    @property
    def percent(self) -> Decimal | None:
        """The margin as a share of the price."""
        if self.cost is None or self.price <= 0:
            return None
        return (self.amount / self.price * 100).quantize(Decimal("0.1"))

    @property
    def under_cost(self) -> bool:
        return self.cost is not None and self.price < self.cost

    def __str__(self) -> str:
        if self.cost is None:
            return f"cost unknown: {self.unknown}"
        share = "" if self.percent is None else f" ({self.percent}%)"
        return f"margin {self.amount:+}{share}, cost {self.cost}"


@dataclass(frozen=True)
class PriceMargin:
    """One price of one service: its list price, or what one customer pays for it."""

    service: Service
    margin: Margin
    whose: str = ""  # empty for the list price: "dave's custom price", "dave's 20% discount"
    customer_id: int | None = None

    def __str__(self) -> str:
        name = f"#{self.service.pk} {self.service.name}" if self.service.pk else self.service.name
        whose = f" ({self.whose})" if self.whose else ""
        return f"{name}{whose} at {self.margin.price}: {self.margin}"


class SellingAtLoss(ValidationError):
    """Prices under their current cost that the operator has not accepted."""

    def __init__(self, losses: list[PriceMargin]):
        self.losses = losses
        more = f"; and {len(losses) - NAMED_IN_REFUSAL} more" if len(losses) > NAMED_IN_REFUSAL else ""
        self.named = "; ".join(str(loss) for loss in losses[:NAMED_IN_REFUSAL]) + more
        super().__init__(
            f"Under the current cost: {self.named}. To sell at a loss anyway, tick “{ACCEPT_LOSS}”.",
            code="under_cost",
        )


def cost_of(*, provider_service: ProviderService, rates: dict[str, Decimal]) -> tuple[Decimal | None, str]:
    """Per 1000 (per package) in the panel currency, and why it is unknown when it is."""
    try:
        cost = converted_cost(provider_service=provider_service, rates=rates)
    except PriceUnavailable as error:
        return None, str(error)
    return cost.quantize(MONEY_QUANTUM, rounding=ROUND_CEILING), ""


def margin_of(
    *, price: Decimal, provider_service: ProviderService, rates: dict[str, Decimal] | None = None
) -> Margin:
    cost, unknown = cost_of(provider_service=provider_service, rates=rates or currency_rates())
    return Margin(price=price, cost=cost, unknown=unknown)


def refuse_losses(prices: Iterable[PriceMargin], *, allow_loss: bool) -> None:
    """SellingAtLoss naming every price under cost, worst first, unless the operator accepted it."""
    losses = sorted((p for p in prices if p.margin.under_cost), key=lambda p: p.margin.amount)
    if losses and not allow_loss:
        raise SellingAtLoss(losses)


def lowest(prices: Iterable[PriceMargin]) -> PriceMargin | None:
    known = [p for p in prices if p.margin.cost is not None]
    return min(known, key=lambda p: p.margin.amount) if known else None


def _priced_services():
    """What a broad price (a discount, a markup rule) reaches: every service not disabled by the operator
    (one paused by a sync goes back on sale by itself)."""
    return Service.objects.exclude(status=Service.Status.DISABLED).select_related(
        "provider_service__provider"
    )


# --- one price set by hand ---------------------------------------------------------------------------------


def service_price_check(
    *, service: Service, price: Decimal, allow_loss: bool, provider_service: ProviderService | None = None
) -> Margin:
    """A service's list price (set by hand, or kept when the service moves to ``provider_service``)."""
    margin = margin_of(price=price, provider_service=provider_service or service.provider_service)
    refuse_losses([PriceMargin(service, margin)], allow_loss=allow_loss)
    return margin


def custom_price_check(*, customer, service: Service, price: Decimal, allow_loss: bool) -> Margin:
    margin = margin_of(price=price, provider_service=service.provider_service)
    whose = f"{customer.get_username()}'s custom price"
    refuse_losses([PriceMargin(service, margin, whose, customer.pk)], allow_loss=allow_loss)
    return margin


# --- prices that reach many services -----------------------------------------------------------------------


def discount_margins(*, customer, percent: Decimal) -> list[PriceMargin]:
    """What a discount of ``percent`` gives ``customer`` on each service they have no custom price for."""
    custom = (
        set(CustomerServicePrice.objects.filter(user=customer).values_list("service_id", flat=True))
        if customer.pk
        else set()
    )
    rates, whose = currency_rates(), f"{customer.get_username()}'s {percent.normalize():f}% discount"
    return [
        PriceMargin(
            service,
            margin_of(
                price=discounted_price(service.price, percent),
                provider_service=service.provider_service,
                rates=rates,
            ),
            whose,
            customer.pk,
        )
        for service in _priced_services()
        if service.pk not in custom
    ]


def discount_check(*, customer, percent: Decimal, allow_loss: bool) -> PriceMargin | None:
    """Refuse a discount that sells any service under cost; the lowest margin it yields."""
    if not percent:  # no discount: the customer pays the list prices, checked when they were set
        return None
    prices = discount_margins(customer=customer, percent=percent)
    refuse_losses(prices, allow_loss=allow_loss)
    return lowest(prices)


def _prices_by_rule(rules: list[MarkupRule], services, rates) -> dict[int | None, list[PriceMargin]]:
    """Each service's list price under its most specific rule, grouped by that rule's id."""
    by_rule: dict[int | None, list[PriceMargin]] = {}
    for service in services:
        upstream = service.provider_service
        rule = markup_rule_for(upstream, rules)
        if rule is None:
            continue
        try:
            price = storefront_price(provider_service=upstream, rule=rule, rates=rates)
        except PriceUnavailable:  # its cost is unknown too: nothing to compare
            continue
        margin = margin_of(price=price, provider_service=upstream, rates=rates)
        by_rule.setdefault(rule.pk, []).append(PriceMargin(service, margin))
    return by_rule


def markup_rule_margins(*, rule: MarkupRule) -> list[PriceMargin]:
    """The list prices ``rule`` (as saved, or as it is about to be saved) gives: every service not disabled
    nor priced by hand whose most specific rule it is. Services whose cost is unknown get no price."""
    others = MarkupRule.objects.exclude(pk=rule.pk) if rule.pk else MarkupRule.objects.all()
    services = _priced_services().filter(manual_price=False)
    if rule.provider_service_id:
        services = services.filter(provider_service=rule.provider_service_id)
    elif rule.provider_id:
        services = services.filter(provider_service__provider=rule.provider_id)
    return _prices_by_rule([*others, rule], services, currency_rates()).get(rule.pk, [])


def markup_rules_yield() -> dict[int, list[PriceMargin]]:
    """What every saved rule prices now, by rule id; three queries."""
    services = _priced_services().filter(manual_price=False)
    return _prices_by_rule(list(MarkupRule.objects.all()), services, currency_rates())


def markup_rule_check(*, rule: MarkupRule, allow_loss: bool) -> list[PriceMargin]:
    prices = markup_rule_margins(rule=rule)
    refuse_losses(prices, allow_loss=allow_loss)
    return prices


# --- what is under cost now ---------------------------------------------------------------------------------


@dataclass
class Losses:
    prices: list[PriceMargin]  # every list or custom price under cost, and each service's worst discount
    services: int  # how many services have a price under cost
    unknown: dict[str, int]  # why a cost is unknown → how many services


def storefront_losses() -> Losses:
    """Every price of a service not disabled that is under its current cost now — the list price (by a rule
    or by hand), a customer's custom price, the deepest discount of a customer without one — worst first.
    Four queries, whatever the numbers of services and customers."""
    rates = currency_rates()
    custom: dict[int, list[dict]] = {}
    for row in CustomerServicePrice.objects.exclude(service__status=Service.Status.DISABLED).values(
        "service_id", "user_id", "user__username", "price"
    ):
        custom.setdefault(row["service_id"], []).append(row)
    discounts = list(
        CustomerPricing.objects.filter(discount_percent__gt=0)
        .order_by("-discount_percent", "user_id")
        .values("user_id", "user__username", "discount_percent")
    )
    prices, services, unknown = [], set(), {}
    for service in _priced_services():
        upstream = service.provider_service
        cost, why = cost_of(provider_service=upstream, rates=rates)
        if cost is None:
            unknown[why] = unknown.get(why, 0) + 1
            continue
        found = [PriceMargin(service, Margin(service.price, cost))]
        own = custom.get(service.pk, [])
        found += [
            PriceMargin(
                service, Margin(row["price"], cost), f"{row['user__username']}'s custom price", row["user_id"]
            )
            for row in own
        ]
        custom_priced = {row["user_id"] for row in own}
        deepest = next((row for row in discounts if row["user_id"] not in custom_priced), None)
        if deepest is not None:
            percent = deepest["discount_percent"]
            found.append(
                PriceMargin(
                    service,
                    Margin(discounted_price(service.price, percent), cost),
                    f"{deepest['user__username']}'s {percent.normalize():f}% discount",
                    deepest["user_id"],
                )
            )
        for price in found:
            if price.margin.under_cost:
                prices.append(price)
                services.add(service.pk)
    prices.sort(key=lambda p: (p.margin.amount, p.service.pk))
    return Losses(prices=prices, services=len(services), unknown=unknown)
