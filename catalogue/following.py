"""Following the provider's catalogue: after each sync of a provider's service list (``panels.catalogue``),
what the storefront sells from it is paused, resumed, repriced and kept within the provider's quantities."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from catalogue.models import Service, ServiceRoute
from catalogue.orderable import quantity_range
from catalogue.pricing import (
    PriceUnavailable,
    currency_rates,
    markup_rule_for,
    markup_rules,
    storefront_price,
)
from content.services import service_seen, service_updates_record
from panels.catalogue import catalogue_synced
from panels.models import Provider
from reseller.bulk import instances_update

VANISHED_REASON = "The provider no longer lists this service."
TYPE_CHANGED_REASON = (
    "The provider now sells this as a {now} service, not {was}: it bills on another basis (per package, per "
    "1000, per line). Sell it from a {was} service, or publish the new one."
)


@dataclass
class FollowResult:
    paused: int = 0
    resumed: int = 0
    repriced: int = 0
    clamped: int = 0


def services_follow_catalogue(*, provider: Provider) -> FollowResult:
    """After a catalogue sync: pause what vanished (unless another route still sells it) or changed type,
    resume what came back (if paused by a sync), reprice under the markup rules (hand-set prices excepted),
    keep min/max within the provider's."""
    result = FollowResult()
    services = list(
        Service.objects.filter(provider_service__provider=provider).select_related(
            "provider_service__provider"
        )
    )
    rules, rates = markup_rules(provider), currency_rates()
    seen_before = {service.pk: service_seen(service) for service in services}
    # Services another route can still sell when their primary vanishes: they stay on sale (routing skips it).
    routed_elsewhere = set(
        ServiceRoute.objects.filter(
            service__in=services,
            enabled=True,
            provider_service__active=True,
            provider_service__type=F("service__type"),
        )
        .exclude(provider_service=F("service__provider_service"))
        .values_list("service", flat=True)
    )
    changed = []
    for service in services:
        upstream = service.provider_service
        before = _followed(service)
        if not upstream.active and service.pk not in routed_elsewhere:
            reason = VANISHED_REASON
        elif upstream.type != service.type:
            # Another type is another unit of sale: the rate no longer means what the price was set against.
            reason = TYPE_CHANGED_REASON.format(now=upstream.type, was=service.type)
        else:
            reason = ""
        if reason and Service.states.allows(service.status, Service.Status.PAUSED):
            service.status, service.paused_by_sync, service.pause_reason = Service.Status.PAUSED, True, reason
            result.paused += 1
        elif reason and service.paused_by_sync:
            service.pause_reason = reason
        elif service.paused_by_sync:
            service.status, service.paused_by_sync, service.pause_reason = Service.Status.ACTIVE, False, ""
            result.resumed += 1
        if not reason and upstream.active and not service.manual_price:
            try:
                price = storefront_price(
                    provider_service=upstream, rule=markup_rule_for(upstream, rules), rates=rates
                )
            except PriceUnavailable:
                price = service.price  # keep selling at the last known price; the operator sees why in admin
            if price != service.price:
                service.price = price
                result.repriced += 1
        limits = quantity_range(service, upstream)
        if limits != (service.min_quantity, service.max_quantity):
            service.min_quantity, service.max_quantity = limits
            result.clamped += 1
        if _followed(service) != before:
            changed.append((service, before))
    with transaction.atomic():
        _services_save(changed)
        service_updates_record(before=seen_before, after=[service for service, _ in changed])
    return result


def _followed(service: Service) -> tuple:
    """What following the catalogue may change on a service."""
    return (service.status, service.pause_reason, service.price, service.min_quantity, service.max_quantity)


# The columns behind each value of ``_followed``.
_FOLLOWED_COLUMNS = (
    ("status", "paused_by_sync"),
    ("pause_reason",),
    ("price",),
    ("min_quantity",),
    ("max_quantity",),
)


def _services_save(changed: list[tuple[Service, tuple]]) -> None:
    """Save what following changed, each service's changed columns only: a bulk update per set of columns
    that changed together (a repricing of thousands: their prices, not seven columns of each)."""
    by_columns: dict[tuple[str, ...], list[Service]] = defaultdict(list)
    for service, before in changed:
        columns = tuple(
            column
            for was, now, columns in zip(before, _followed(service), _FOLLOWED_COLUMNS, strict=True)
            if was != now
            for column in columns
        )
        by_columns[columns].append(service)
    for columns, services in by_columns.items():
        instances_update(services, columns)
    now = timezone.now()
    Service.objects.filter(pk__in=[service.pk for service, _ in changed]).update(updated_at=now)
    for service, _ in changed:
        service.updated_at = now


@receiver(catalogue_synced)
def _follow_catalogue(sender, provider: Provider, **kwargs) -> None:
    services_follow_catalogue(provider=provider)
