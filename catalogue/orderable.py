"""Whether a service can be ordered now, and within which quantities: one answer for every face (the
storefront, mass orders, API v2, the REST API, and ``orders.services.order_place`` behind them all)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _

from catalogue.models import Service
from panels.models import ProviderService

# For customers a service the operator took off sale does not exist; one paused by a sync comes back.
UNKNOWN = ValidationError(_("No such service."), code="service_unknown")
UNAVAILABLE = ValidationError(
    _("This service is not on sale right now; try again later."), code="service_unavailable"
)


@dataclass(frozen=True)
class Orderable:
    """``refusal`` is None when the service can be ordered; otherwise it says why not (its code is
    ``service_unknown`` or ``service_unavailable``). A quantity is accepted from ``min_quantity`` to
    ``max_quantity`` (0 and 0 when there is no such service)."""

    refusal: ValidationError | None
    min_quantity: int = 0
    max_quantity: int = 0

    def __bool__(self) -> bool:
        return self.refusal is None


def service_orderable(service: Service | None) -> Orderable:
    """Can ``service`` (None: no service by the id asked) be ordered now, and within which quantities?
    ``services_on_sale`` is the same rule as a query."""
    if service is None:
        return Orderable(UNKNOWN)
    if service.status == Service.Status.DISABLED:
        refusal = UNKNOWN
    # A provider service whose type changed bills on another basis (per package, per 1000, per line) than
    # the price and the fields sent: never sold until the operator moves or republishes it.
    elif (
        service.status not in Service.states.group("on_sale") or service.type != service.provider_service.type
    ):
        refusal = UNAVAILABLE
    else:
        refusal = None
    return Orderable(refusal, service.min_quantity, service.max_quantity)


def services_on_sale() -> QuerySet[Service]:
    """What customers can order now (``service_orderable`` says yes to each), in this panel's id order."""
    return (
        Service.objects.filter(status__in=Service.states.group("on_sale"), type=F("provider_service__type"))
        .select_related("provider_service__provider")
        .order_by("pk")
    )


def quantity_range(service: Service, provider_service: ProviderService) -> tuple[int, int]:
    """``service``'s min and max kept within what ``provider_service`` accepts; when the provider's range
    moved past ours entirely, the provider's. Publishing and following the catalogue store it, so the stored
    min and max are what ``service_orderable`` answers."""
    low = max(service.min_quantity, provider_service.min_quantity)
    high = min(service.max_quantity, provider_service.max_quantity)
    if low > high:
        return provider_service.min_quantity, provider_service.max_quantity
    return low, high
