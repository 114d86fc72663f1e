"""From a provider's cost to the price a customer pays.

cost per 1000 (provider currency) * currency rate → panel currency; then the most specific markup
rule: * (1 + percent / 100) + fixed, rounded *up* to the rule's step (rounding never eats the margin).
A customer's custom price for a service wins; otherwise their discount applies to the service price.
"""

from collections.abc import Iterable
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db.models import Q

from billing.money import to_money
from catalogue.models import CurrencyRate, CustomerPricing, CustomerServicePrice, MarkupRule, Service
from panels.models import Provider, ProviderService
from reseller.versioned_cache import VersionedCache


class PriceUnavailable(Exception):
    """A price cannot be computed (unknown currency rate, unknown provider currency)."""


def currency_rates() -> dict[str, Decimal]:
    rates = dict(CurrencyRate.objects.values_list("currency", "rate"))
    rates[settings.PANEL_CURRENCY] = Decimal(1)
    return rates


class MarkupRules(list):
    """Rules as ``markup_rules`` loads them: a list, with the rules of single provider services indexed —
    after a repricing there is one per service, and finding a service's among thousands is then a lookup,
    not a scan of them all for each service."""

    def __init__(self, rules: Iterable[MarkupRule]):
        super().__init__(rules)
        self.by_provider_service = {
            rule.provider_service_id: rule for rule in self if rule.provider_service_id
        }
        self.broader = [rule for rule in self if rule.provider_service_id is None]


def markup_rules(provider: Provider) -> MarkupRules:
    # Rules without a provider (global, or for one provider service) apply too; SQL's IN never matches NULL.
    return MarkupRules(MarkupRule.objects.filter(Q(provider=provider) | Q(provider__isnull=True)))


def markup_rule_for(provider_service: ProviderService, rules: Iterable[MarkupRule]) -> MarkupRule | None:
    """The most specific rule: service > provider + category > provider > everything."""
    if isinstance(rules, MarkupRules):
        own = rules.by_provider_service.get(provider_service.pk)
        if own is not None:
            return own
        rules = rules.broader

    def specificity(rule: MarkupRule) -> int | None:
        if rule.provider_service_id is not None:
            return 3 if rule.provider_service_id == provider_service.pk else None
        if rule.provider_id not in (None, provider_service.provider_id):
            return None
        if rule.category:
            return 2 if rule.category == provider_service.category and rule.provider_id else None
        return 1 if rule.provider_id else 0

    ranked = [(rank, rule) for rule in rules if (rank := specificity(rule)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def converted_cost(*, provider_service: ProviderService, rates: dict[str, Decimal]) -> Decimal:
    """The provider's rate in the panel currency, unrounded; PriceUnavailable when it cannot be known."""
    currency = provider_service.provider.currency
    if not currency:
        raise PriceUnavailable(f"{provider_service.provider}'s currency is unknown: sync its balance first")
    if currency not in rates:
        raise PriceUnavailable(f"No exchange rate for {currency}: add one under Currency rates")
    return provider_service.rate * rates[currency]


def storefront_price(
    *, provider_service: ProviderService, rule: MarkupRule | None, rates: dict[str, Decimal]
) -> Decimal:
    price = converted_cost(provider_service=provider_service, rates=rates)
    if rule is not None:
        price = price * (1 + rule.percent / 100) + rule.fixed
        step = Decimal(rule.rounding)
        price = (price / step).to_integral_value(rounding=ROUND_CEILING) * step
    return to_money(price)


def discounted_price(price: Decimal, percent: Decimal) -> Decimal:
    return to_money(price * (100 - percent) / 100)


def customer_price(*, user, service: Service) -> Decimal:
    """Per 1000 (or per package) for this customer."""
    return customer_prices(user=user, services=[service])[service.pk]


# Each customer's own terms — custom prices by service id, and the discount — as every order and price list
# reads them; forgotten whenever either kind of row is saved or deleted (catalogue.receivers). The list prices
# are the services' own, read with them.
customer_terms = VersionedCache("catalogue:customer-terms")


def _terms_of(user) -> tuple[dict[int, Decimal], Decimal | None]:
    def load():
        custom = dict(CustomerServicePrice.objects.filter(user=user).values_list("service_id", "price"))
        discount = (
            CustomerPricing.objects.filter(user=user).values_list("discount_percent", flat=True).first()
        )
        return custom, discount

    return customer_terms.get(str(user.pk), load)


def customer_prices(*, user, services: Iterable[Service]) -> dict[int, Decimal]:
    """Each service's price for this customer (their custom price, else the list price less their
    discount), keyed by service id; from the cache (``customer_terms``), else two queries however many
    services."""
    custom, discount = _terms_of(user)
    prices = {}
    for service in services:
        if service.pk in custom:
            prices[service.pk] = custom[service.pk]
        elif discount:
            prices[service.pk] = discounted_price(service.price, discount)
        else:
            prices[service.pk] = service.price
    return prices
