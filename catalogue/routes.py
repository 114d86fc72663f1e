"""A storefront service's routes: the provider services its orders may go to, in the order they are tried.

The service's price, type and limits follow its primary provider service (``Service.provider_service``);
routes only say where an order goes. ``Service.Routing.ORDERED`` tries them by ``position``,
``CHEAPEST`` by the current cost converted to the panel currency (``catalogue.pricing``), a cost that cannot
be known last. Which of them can take a given order now is ``orders.routing``'s question.
"""

from decimal import Decimal

from catalogue.margins import Margin, cost_of
from catalogue.models import Service, ServiceRoute
from catalogue.pricing import currency_rates
from panels.models import ProviderService


def service_routes(service: Service, *, rates: dict[str, Decimal] | None = None) -> list[ServiceRoute]:
    """``service``'s routes in the order an order tries them. Its primary provider service is always one:
    first, when no route row names it (a service made before routes, or by hand) — to stop sending orders
    there, the operator disables its route."""
    routes = list(service.routes.select_related("provider_service__provider"))
    if not any(route.provider_service_id == service.provider_service_id for route in routes):
        first = min((route.position for route in routes), default=0)
        primary = ServiceRoute(service=service, provider_service=service.provider_service, position=first)
        routes.insert(0, primary)
    if service.routing == Service.Routing.CHEAPEST:
        rates = currency_rates() if rates is None else rates
        costs = {id(route): route_cost(route, rates=rates) for route in routes}
        routes.sort(key=lambda route: (costs[id(route)] is None, costs[id(route)] or 0, route.position))
    return routes


def route_cost(route: ServiceRoute, *, rates: dict[str, Decimal]) -> Decimal | None:
    """Per 1000 (per package) in the panel currency now; None when it cannot be known."""
    return cost_of(provider_service=route.provider_service, rates=rates)[0]


def route_margin(route: ServiceRoute, *, rates: dict[str, Decimal] | None = None) -> Margin:
    """What the service's list price earns when its orders go by ``route``."""
    cost, unknown = cost_of(provider_service=route.provider_service, rates=rates or currency_rates())
    return Margin(price=route.service.price, cost=cost, unknown=unknown)


def primary_route_follow(*, service: Service, was: ProviderService | None) -> None:
    """Keep ``service``'s routes in step with its primary provider service after it was set (a new service,
    or moved from ``was``): the primary is a route, in place of the one it replaced, else first."""
    routes = ServiceRoute.objects.filter(service=service)
    if routes.filter(provider_service=service.provider_service).exists():
        if was is not None and was.pk != service.provider_service_id:
            routes.filter(provider_service=was).delete()
        return
    replaced = routes.filter(provider_service=was).first() if was is not None else None
    if replaced is not None:
        replaced.provider_service = service.provider_service
        replaced.save(update_fields=["provider_service"])
        return
    first = min((route.position for route in routes), default=1)
    ServiceRoute.objects.create(
        service=service, provider_service=service.provider_service, position=max(0, first - 1)
    )
