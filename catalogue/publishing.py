"""Publishing: provider services put on sale (or repriced) at a markup, and a service moved to another
provider service."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_changes, audit_record, audit_records
from catalogue.margins import PriceMargin, lowest, margin_of, refuse_losses, service_price_check
from catalogue.models import MarkupRule, Service, ServiceRoute
from catalogue.orderable import quantity_range
from catalogue.pricing import (
    MarkupRules,
    PriceUnavailable,
    currency_rates,
    markup_rule_for,
    markup_rules,
    storefront_price,
)
from catalogue.routes import primary_route_follow
from content.services import Seen, service_seen, service_updates_record
from panels.models import Provider, ProviderService
from reseller.bulk import instances_update
from reseller.states import transition_many


@dataclass
class PublishResult:
    created: list[Service] = field(default_factory=list)
    repriced: list[Service] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # why a provider service could not be published
    margins: list[PriceMargin] = field(default_factory=list)  # of every price the markup set
    prices_before: dict[int, Decimal] = field(default_factory=dict)  # of the repriced, by service id

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
    actor=None,
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
        result = _publish(provider_services, allow_loss=allow_loss)
        _audit_publish(result, actor=actor, reason=_markup_said(percent, fixed, rounding, category))
        _updates_published(result)
        return result


def services_publish_selected(
    *,
    provider_services,
    percent: Decimal,
    fixed: Decimal = Decimal(0),
    rounding: str = MarkupRule.Rounding.CENT,
    allow_loss: bool = False,
    actor=None,
) -> PublishResult:
    """Publish exactly these provider services, each with its own markup rule (the admin's action)."""
    with transaction.atomic():
        result = _publish_selected(provider_services, percent, fixed, rounding, allow_loss=allow_loss)
        _audit_publish(result, actor=actor, reason=_markup_said(percent, fixed, rounding))
        _updates_published(result)
        return result


def _markup_said(percent, fixed, rounding, category="") -> str:
    return f"Markup {percent}% + {fixed} per 1000, rounded up to {rounding}" + (
        f", category {category}" if category else ""
    )


def _audit_publish(result: PublishResult, *, actor, reason: str) -> None:
    audit_records(
        actor=actor,
        verb="publish",
        changed=[(service, {"price": [None, str(service.price)]}) for service in result.created],
        reason=reason,
    )
    audit_records(
        actor=actor,
        verb="reprice",
        changed=[
            (service, audit_changes({"price": result.prices_before[service.pk]}, {"price": service.price}))
            for service in result.repriced
        ],
        reason=reason,
    )


def _updates_published(result: PublishResult) -> None:
    """The service updates page: services published, and prices the markup moved (their status unchanged)."""
    service_updates_record(
        before={
            service.pk: Seen(price=result.prices_before[service.pk], on_sale=service_seen(service).on_sale)
            for service in result.repriced
        },
        after=[*result.created, *result.repriced],
    )


def _publish_selected(provider_services, percent, fixed, rounding, *, allow_loss: bool) -> PublishResult:
    """A markup rule for each of ``provider_services``, and publish them; in the caller's transaction."""
    selected = list(provider_services.filter(active=True))
    _markup_rules_set(selected, percent=percent, fixed=fixed, rounding=rounding)
    return _publish(
        ProviderService.objects.filter(pk__in=[service.pk for service in selected]), allow_loss=allow_loss
    )


def _markup_rules_set(provider_services: list[ProviderService], **markup) -> None:
    """One markup rule for each of ``provider_services``: the existing ones changed, the missing made — in
    a few queries whatever their number (a repricing of thousands of services)."""
    existing = {
        rule.provider_service_id: rule
        for rule in MarkupRule.objects.filter(
            provider=None, category="", provider_service__in=provider_services
        )
    }
    now = timezone.now()
    for rule in existing.values():
        rule.percent, rule.fixed, rule.rounding, rule.updated_at = (
            markup["percent"],
            markup["fixed"],
            markup["rounding"],
            now,
        )
    instances_update(list(existing.values()), ["percent", "fixed", "rounding", "updated_at"])
    MarkupRule.objects.bulk_create(
        [
            MarkupRule(provider=None, category="", provider_service=provider_service, **markup)
            for provider_service in provider_services
            if provider_service.pk not in existing
        ],
        batch_size=1000,
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
    rules_by_provider: dict[int, MarkupRules] = {}
    for provider_service in provider_services:
        provider = provider_service.provider
        if (
            provider.pk not in rules_by_provider
        ):  # once per provider (not setdefault: it loads them each time)
            rules_by_provider[provider.pk] = markup_rules(provider)
        rules = rules_by_provider[provider.pk]
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
            result.prices_before[existing.pk] = existing.price
            existing.price, existing.updated_at = price, timezone.now()
            result.repriced.append(existing)
        else:
            result.unchanged += 1
        margin = margin_of(price=price, provider_service=provider_service, rates=rates)
        result.margins.append(PriceMargin(existing, margin))
    refuse_losses(result.margins, allow_loss=allow_loss)
    Service.objects.bulk_create(result.created)
    ServiceRoute.objects.bulk_create(  # each new service sold from its one provider service, to begin with
        ServiceRoute(service=service, provider_service=service.provider_service, position=0)
        for service in result.created
    )
    instances_update(result.repriced, ["price", "updated_at"])
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
    actor=None,
) -> PublishResult:
    """Price these storefront services at a markup over their provider's cost from now on (a rule per
    provider service, so later cost changes follow it); hand-set prices are given up."""
    with transaction.atomic():
        services = Service.objects.filter(pk__in=[service.pk for service in services])
        before = {service.pk: _priced(service) for service in services}
        services.update(manual_price=False)
        result = _publish_selected(
            ProviderService.objects.filter(storefront__in=services).distinct(),
            percent,
            fixed,
            rounding,
            allow_loss=allow_loss,
        )
        audit_records(
            actor=actor,
            verb="reprice",
            changed=[
                (service, audit_changes(before[service.pk], _priced(service)))
                for service in Service.objects.filter(pk__in=before)
            ],
            reason=_markup_said(percent, fixed, rounding),
        )
        _updates_published(result)
        return result


def _priced(service: Service) -> dict:
    return {"price": service.price, "manual_price": service.manual_price}


def services_take_off_sale(*, services, actor) -> int:
    """Stop selling ``services`` until an operator puts them back on sale; returns how many."""
    return _services_move(services, Service.Status.DISABLED, actor=actor, verb="take_off_sale")


def services_put_back_on_sale(*, services, actor) -> int:
    """Put ``services`` back on sale; returns how many. Never one whose provider service vanished or changed
    type: it would be billed on another basis than its price."""
    sellable = services.filter(provider_service__active=True, type=F("provider_service__type"))
    return _services_move(sellable, Service.Status.ACTIVE, actor=actor, verb="put_back_on_sale")


def _services_move(services, to: str, *, actor, verb: str) -> int:
    """Move the services the table lets go to ``to`` (locked, so that the audit rows say what they were)."""
    with transaction.atomic():
        sources = [state for state in Service.Status if Service.states.allows(state, to)]
        selected = list(
            Service.objects.select_for_update(of=("self",)).filter(
                pk__in=services.values("pk"), status__in=sources
            )
        )
        moved = Service.objects.filter(pk__in=[service.pk for service in selected])
        count = transition_many(moved, to, paused_by_sync=False, pause_reason="")
        seen_before = {service.pk: service_seen(service) for service in selected}
        audit_records(
            actor=actor,
            verb=verb,
            changed=[
                (service, audit_changes({"status": service.status}, {"status": to})) for service in selected
            ],
        )
        for service in selected:
            service.status = to
        service_updates_record(before=seen_before, after=selected)
    return count


def service_move(
    *, service: Service, provider_service: ProviderService, allow_loss: bool = False, actor=None
) -> Service:
    """Sell ``service`` from another provider service of the same type: its min/max are kept within the new
    provider's, and its price follows the new cost (unless set by hand: then that price must still cover
    it, or ``allow_loss``); the new provider service takes the old one's place among its routes. Orders
    already placed stay where they were sent."""
    if provider_service.type != service.type:
        raise ValidationError({"provider_service": f"Choose a {service.type} service, like this one."})
    if not provider_service.active:
        raise ValidationError(
            {"provider_service": "That provider service is not listed by its provider now."}
        )
    with transaction.atomic():
        before, seen_before, was = _moved(service), service_seen(service), service.provider_service
        service.provider_service = provider_service
        service.min_quantity, service.max_quantity = quantity_range(service, provider_service)
        if service.paused_by_sync:
            service.status, service.paused_by_sync, service.pause_reason = Service.Status.ACTIVE, False, ""
        service.save()
        primary_route_follow(service=service, was=was)  # its orders go there too, in place of the old one
        _publish(ProviderService.objects.filter(pk=provider_service.pk), allow_loss=allow_loss)
        if service.manual_price:
            service_price_check(service=service, price=service.price, allow_loss=allow_loss)
        service.refresh_from_db()
        audit_record(actor=actor, verb="move", target=service, changes=audit_changes(before, _moved(service)))
        service_updates_record(before={service.pk: seen_before}, after=[service])
    return service


def _moved(service: Service) -> dict:
    """What moving a service to another provider service may change."""
    return {
        "provider_service": str(service.provider_service),
        "price": service.price,
        "min_quantity": service.min_quantity,
        "max_quantity": service.max_quantity,
        "status": service.status,
    }


# --- what a markup would do, before it is applied ----------------------------------------------------------


def markup_preview(
    *,
    provider_services,
    percent: Decimal | None,
    fixed: Decimal | None,
    rounding: str | None,
    repricing: bool,
) -> list[str]:
    """One line per provider service: its cost, the price the markup gives and the margin — as publishing
    (``repricing``: repricing services, whose hand-set prices then go) would set them. Nothing is written;
    no lines while the markup is not filled in."""
    if percent is None or fixed is None or not rounding:
        return []
    rule = MarkupRule(percent=percent, fixed=fixed, rounding=rounding)  # never saved
    rates = currency_rates()
    on_sale = {
        service.provider_service_id: service
        for service in Service.objects.filter(provider_service__in=provider_services)
    }
    lines = []
    for upstream in provider_services.select_related("provider"):
        existing = on_sale.get(upstream.pk)
        name = f"{upstream.provider} #{upstream.remote_id} {upstream.name}"
        if existing is not None and existing.manual_price and not repricing:
            lines.append(f"{name}: kept at {existing.price} (priced by hand)")
            continue
        try:
            price = storefront_price(provider_service=upstream, rule=rule, rates=rates)
        except PriceUnavailable as error:
            lines.append(f"{name}: skipped ({error})")
            continue
        margin = margin_of(price=price, provider_service=upstream, rates=rates)
        now = f" (now {existing.price})" if existing is not None else " (new)"
        loss = " — UNDER COST" if margin.under_cost else ""
        share = f" ({margin.percent}%)" if margin.percent is not None else ""
        said = f"margin {margin.amount:+}{share}{loss}"
        lines.append(f"{name}: cost {margin.cost} → price {price}{now}, {said}")
    return lines
