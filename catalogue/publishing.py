"""Publishing: provider services put on sale (or repriced) at a markup, and a service moved to another
provider service."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalogue.margins import PriceMargin, lowest, margin_of, refuse_losses, service_price_check
from catalogue.models import MarkupRule, Service
from catalogue.orderable import quantity_range
from catalogue.pricing import (
    PriceUnavailable,
    currency_rates,
    markup_rule_for,
    markup_rules,
    storefront_price,
)
from panels.models import Provider, ProviderService


@dataclass
class PublishResult:
    created: list[Service] = field(default_factory=list)
    repriced: list[Service] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # why a provider service could not be published
    margins: list[PriceMargin] = field(default_factory=list)  # of every price the markup set

    def summary(self) -> str:
        worst = lowest(self.margins)
        return (
            f"{len(self.created)} published, {len(self.repriced)} repriced, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped" + (f"; the lowest margin: {worst}" if worst else "")
        )


def services_publish(
    *,
    provider: Provider,
    percent: Decimal,
    fixed: Decimal = Decimal(0),
    rounding: str = MarkupRule.Rounding.CENT,
    category: str = "",
    allow_loss: bool = False,
) -> PublishResult:
    """Set the markup rule for ``provider`` (or one of its categories) and publish its active services.

    Provider services already on sale are repriced under the new rule (hand-set prices excepted);
    the others become new storefront services. A price under cost refuses the lot (SellingAtLoss)
    unless ``allow_loss``.
    """
    with transaction.atomic():
        MarkupRule.objects.update_or_create(
            provider=provider,
            category=category,
            provider_service=None,
            defaults={"percent": percent, "fixed": fixed, "rounding": rounding},
        )
        provider_services = ProviderService.objects.filter(provider=provider, active=True)
        if category:
            provider_services = provider_services.filter(category=category)
        return _publish(provider_services, allow_loss=allow_loss)


def services_publish_selected(
    *,
    provider_services,
    percent: Decimal,
    fixed: Decimal = Decimal(0),
    rounding: str = MarkupRule.Rounding.CENT,
    allow_loss: bool = False,
) -> PublishResult:
    """Publish exactly these provider services, each with its own markup rule (the admin's action)."""
    with transaction.atomic():
        selected = list(provider_services.filter(active=True))
        for provider_service in selected:
            MarkupRule.objects.update_or_create(
                provider=None,
                category="",
                provider_service=provider_service,
                defaults={"percent": percent, "fixed": fixed, "rounding": rounding},
            )
        return _publish(
            ProviderService.objects.filter(pk__in=[service.pk for service in selected]), allow_loss=allow_loss
        )


def _publish(provider_services, *, allow_loss: bool) -> PublishResult:
    """Create storefront services for ``provider_services`` not yet on sale; reprice the others. Called in
    its caller's transaction, so that a refused loss also undoes the markup rule written for it."""
    result = PublishResult()
    provider_services = list(provider_services.select_related("provider"))
    on_sale = {
        service.provider_service_id: service
        for service in Service.objects.filter(provider_service__in=provider_services)
    }
    rates = currency_rates()
    rules_by_provider: dict[int, list[MarkupRule]] = {}
    for provider_service in provider_services:
        provider = provider_service.provider
        rules = rules_by_provider.setdefault(provider.pk, markup_rules(provider))
        try:
            price = storefront_price(
                provider_service=provider_service, rule=markup_rule_for(provider_service, rules), rates=rates
            )
        except PriceUnavailable as error:
            result.skipped.append(f"{provider_service.remote_id} {provider_service.name}: {error}")
            continue
        existing = on_sale.get(provider_service.pk)
        if existing is None:
            existing = _service_from(provider_service, price)
            result.created.append(existing)
        elif existing.manual_price:
            result.unchanged += 1
            continue
        elif existing.price != price:
            existing.price, existing.updated_at = price, timezone.now()
            result.repriced.append(existing)
        else:
            result.unchanged += 1
        margin = margin_of(price=price, provider_service=provider_service, rates=rates)
        result.margins.append(PriceMargin(existing, margin))
    refuse_losses(result.margins, allow_loss=allow_loss)
    Service.objects.bulk_create(result.created)
    Service.objects.bulk_update(result.repriced, ["price", "updated_at"])
    return result


def _service_from(provider_service: ProviderService, price: Decimal) -> Service:
    return Service(
        name=provider_service.name[:255],
        category=provider_service.category or "Other",
        description=provider_service.description,
        type=provider_service.type,
        provider_service=provider_service,
        min_quantity=provider_service.min_quantity,
        max_quantity=provider_service.max_quantity,
        refill=provider_service.refill,
        cancel=provider_service.cancel,
        price=price,
    )


def services_reprice(
    *,
    services,
    percent: Decimal,
    fixed: Decimal = Decimal(0),
    rounding: str = MarkupRule.Rounding.CENT,
    allow_loss: bool = False,
) -> PublishResult:
    """Price these storefront services at a markup over their provider's cost from now on (a rule per
    provider service, so later cost changes follow it); hand-set prices are given up."""
    with transaction.atomic():
        services = Service.objects.filter(pk__in=[service.pk for service in services])
        services.update(manual_price=False)
        return services_publish_selected(
            provider_services=ProviderService.objects.filter(storefront__in=services).distinct(),
            percent=percent,
            fixed=fixed,
            rounding=rounding,
            allow_loss=allow_loss,
        )


def service_move(*, service: Service, provider_service: ProviderService, allow_loss: bool = False) -> Service:
    """Sell ``service`` from another provider service of the same type: its min/max are kept within the new
    provider's, and its price follows the new cost (unless set by hand: then that price must still cover
    it, or ``allow_loss``). Orders already placed stay where they were sent."""
    if provider_service.type != service.type:
        raise ValidationError({"provider_service": f"Choose a {service.type} service, like this one."})
    if not provider_service.active:
        raise ValidationError(
            {"provider_service": "That provider service is not listed by its provider now."}
        )
    with transaction.atomic():
        service.provider_service = provider_service
        service.min_quantity, service.max_quantity = quantity_range(service, provider_service)
        if service.paused_by_sync:
            service.status, service.paused_by_sync, service.pause_reason = Service.Status.ACTIVE, False, ""
        service.save()
        _publish(ProviderService.objects.filter(pk=provider_service.pk), allow_loss=allow_loss)
        if service.manual_price:
            service_price_check(service=service, price=service.price, allow_loss=allow_loss)
    service.refresh_from_db()
    return service
