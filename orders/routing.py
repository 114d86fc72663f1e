"""Which route an order goes to: the first of its service's routes (``catalogue.routes``) that can take it
now.

A route can take an order when it is enabled, its provider is enabled and not marked down (``panels.health``),
its provider service is listed (not vanished) and of the order's type, the order's quantities fit the
route's limits, and our balance at that provider is not known to be short of what the order costs there.
Reads only: the moves between routes are ``orders.services``' (``order_claim``, ``order_settle_add``), which
never send an order to another route unless the last one provably placed nothing.
"""

from datetime import datetime
from decimal import Decimal

from catalogue.models import ServiceRoute
from catalogue.routes import service_routes
from orders.models import Order
from orders.order_types import ORDER_TYPES, lines
from panels.client import ProviderRejected, ProviderUnavailable, RateLimited
from panels.health import provider_is_down
from panels.normalize import ServiceType

# ``Order.route_outcomes`` values: a route that refused the order for good is never tried again for it; one
# that said "later" (or was unreachable) is tried again once every route was.
REFUSED = "refused"
LATER = "later"

DISABLED_PROVIDER = "The provider is disabled; the order is sent when it is enabled again."


def quantities(order: Order) -> list[int]:
    """The figures of ``order`` a route's min and max bound (as the service's bound them when it was
    placed): the quantity (per run), the number of lines, a subscription's min and max; none for packages."""
    if order.type == ServiceType.SUBSCRIPTIONS:
        return [int(order.fields[name]) for name in ("min", "max") if name in order.fields]
    kind = ORDER_TYPES.get(order.type)
    if kind is None or kind.counted_by is None:
        return []
    if kind.counted_by == "quantity":
        return [int(order.fields["quantity"])] if "quantity" in order.fields else []
    return [len(lines(order.fields.get(kind.counted_by, "")))]


def cost_at(route: ServiceRoute, order: Order) -> Decimal:
    """What ``order`` costs at ``route``'s provider, in its currency, at the rate listed now."""
    kind = ORDER_TYPES.get(order.type)
    rate = route.provider_service.rate
    return rate * order.units if kind is not None and kind.package else rate * order.units / 1000


def route_refusal(route: ServiceRoute, order: Order, *, now: datetime | None = None) -> str | None:
    """Why ``route`` cannot take ``order`` now, or None when it can."""
    upstream = route.provider_service
    provider = upstream.provider
    if not route.enabled:
        return f"The route to {upstream} is disabled."
    if not provider.enabled:
        return DISABLED_PROVIDER
    if provider_is_down(provider, now=now):
        return f"{provider} is marked down: {provider.down_reason}"
    if not upstream.active:
        return f"{upstream} is no longer listed by its provider."
    if upstream.type != order.type:
        return f"{upstream} is now a {upstream.type} service, not {order.type}."
    low, high = route.limits
    if any(not low <= figure <= high for figure in quantities(order)):
        return f"{upstream} takes {low} to {high}."
    if provider.balance is not None and provider.balance < cost_at(route, order):
        return f"Our balance at {provider} ({provider.balance} {provider.currency}) is short of this order."
    return None


def routes_for(order: Order) -> list[ServiceRoute]:
    """The routes of ``order``'s service in the order they are tried."""
    return service_routes(order.service)


def route_first(
    order: Order, *, now: datetime | None = None, skip=(), routes: list[ServiceRoute] | None = None
) -> ServiceRoute | None:
    """The first route that can take ``order`` now, leaving out those it refused for good, those it tried
    in this round (``route_outcomes``) and the provider services in ``skip``."""
    tried = {int(key) for key in order.route_outcomes}
    for route in routes_for(order) if routes is None else routes:
        if route.provider_service_id in tried or route.provider_service_id in skip:
            continue
        if route_refusal(route, order, now=now) is None:
            return route
    return None


def route_of(order: Order, *, routes: list[ServiceRoute] | None = None) -> ServiceRoute | None:
    """The route ``order`` is at now (None when its provider service is no longer one of its routes)."""
    routes = routes_for(order) if routes is None else routes
    return next((route for route in routes if route.provider_service_id == order.provider_service_id), None)


def refused_here(order: Order) -> bool:
    """Whether the route ``order`` is at refused it for good."""
    return order.route_outcomes.get(str(order.provider_service_id)) == REFUSED


def routes_left(order: Order) -> bool:
    """Whether a route that has not refused ``order`` for good may still take it later (it said "later",
    or is skipped for now: its provider down or disabled, its balance short)."""
    refused = {int(key) for key, said in order.route_outcomes.items() if said == REFUSED}
    return any(route.enabled and route.provider_service_id not in refused for route in routes_for(order))


def nothing_placed_outcome(error: Exception, *, active_link_fails_over: bool) -> str | None:
    """What an ``add`` outcome that provably placed nothing says about its route (``REFUSED`` or
    ``LATER``), when the order may go to another route; None when it may not: an unknown outcome, our own
    budget or the provider's 429 (its pace, not a refusal), "active order with this link" unless the
    setting sends it elsewhere."""
    if isinstance(error, RateLimited):
        return None
    if isinstance(error, ProviderUnavailable):
        return LATER if error.retry_after is None else None
    if isinstance(error, ProviderRejected):
        if not error.retry_later:
            return REFUSED
        if "active order with this link" in error.message.lower() and not active_link_fails_over:
            return None
        return LATER
    return None
