"""What the storefront sells and at which price: services, markup rules, currency rates, customer pricing.

These models moved here from ``orders``; their tables keep the names they were created with (``orders_*``) so
existing databases move without copying a row.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.money import MONEY_FIELD
from panels.models import Provider, ProviderService
from reseller.states import StateTable


class CurrencyRate(models.Model):
    """How many units of the panel currency one unit of ``currency`` buys, as of ``updated_at``."""

    currency = models.CharField(max_length=8, unique=True)
    rate = models.DecimalField(
        max_digits=20, decimal_places=8, validators=[MinValueValidator(Decimal("1e-8"))]
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "orders_currencyrate"

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {settings.PANEL_CURRENCY} ({self.updated_at:%Y-%m-%d %H:%M})"


class MarkupRule(models.Model):
    """How a provider's cost becomes our price: the most specific rule wins.

    Specificity: one provider service > a provider's category > a whole provider > everything.
    """

    class Rounding(models.TextChoices):
        CENT = "0.01", "Up to the cent"
        TENTH_CENT = "0.001", "Up to 0.001"
        MONEY = "0.0001", "Up to 0.0001"
        NICKEL = "0.05", "Up to 0.05"
        UNIT = "1", "Up to a whole unit"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, null=True, blank=True)
    category = models.CharField(max_length=255, blank=True, help_text="Empty: every category.")
    provider_service = models.ForeignKey(ProviderService, on_delete=models.CASCADE, null=True, blank=True)
    percent = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal(0), validators=[MinValueValidator(Decimal(-99))]
    )
    fixed = models.DecimalField(
        **MONEY_FIELD, default=Decimal(0), help_text="Added per 1000, after the percent."
    )
    rounding = models.CharField(max_length=8, choices=Rounding.choices, default=Rounding.CENT)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_markuprule"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "category", "provider_service"],
                name="one_markup_rule_per_scope",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        scope = self.provider_service or (
            f"{self.provider} / {self.category}" if self.category else self.provider
        )
        return f"+{self.percent}% +{self.fixed} for {scope or 'everything'}"


class Service(models.Model):
    """A service of this panel's storefront (its own ids), sold from one or more provider services (its
    ``routes``; ``provider_service`` is the primary one, which its price, type and limits follow)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        DISABLED = "disabled", "Disabled by the operator"

    class Availability(models.TextChoices):
        """What customers and resellers see: a service is on sale or it is not listed."""

        ON_SALE = "on_sale", "On sale"
        OFF_SALE = "off_sale", "Not on sale"

    # Paused: taken off sale by a catalogue sync (vanished upstream, or of another type there), which puts it
    # back by itself. Disabled: by the operator, who alone puts it back. Moved in bulk (``transition_many``):
    # the audit trail is their history.
    states = StateTable(
        Status,
        transitions={
            Status.ACTIVE: {Status.PAUSED, Status.DISABLED},
            Status.PAUSED: {Status.ACTIVE, Status.DISABLED},
            Status.DISABLED: {Status.ACTIVE},
        },
        final=set(),
        public={
            Status.ACTIVE: Availability.ON_SALE,
            Status.PAUSED: Availability.OFF_SALE,
            Status.DISABLED: Availability.OFF_SALE,
        },
        named={"on_sale": {Status.ACTIVE}},
    )

    class Dripfeed(models.TextChoices):
        INHERIT = "", "As the provider and its drip-feed setting say"
        ON = "on", "On"
        OFF = "off", "Off"

    class AutoRefill(models.TextChoices):
        """When the panel asks for a refill by itself (``orders.auto_refill``). A drop is seen only where the
        provider's status answer for a completed order shows ``remains`` again; many providers answer nothing
        new after Completed, and "every N days" is the way for theirs."""

        OFF = "", "Off"
        DROP = "drop", "When the provider reports a drop"
        EVERY = "every", "Every N days"
        DROP_OR_EVERY = "drop_or_every", "When the provider reports a drop, and every N days"

    class Routing(models.TextChoices):
        ORDERED = "ordered", "In the routes' order"
        CHEAPEST = "cheapest", "Cheapest first, at the current converted cost"

    name = models.CharField(max_length=255)
    category = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=64)
    # The primary route: the price, the type and the limits follow it. Orders go by ``routes``.
    provider_service = models.ForeignKey(ProviderService, on_delete=models.PROTECT, related_name="storefront")
    routing = models.CharField(
        max_length=16,
        choices=Routing.choices,
        default=Routing.ORDERED,
        help_text="Which route an order tries first; a route that placed nothing hands it to the next.",
    )
    min_quantity = models.PositiveBigIntegerField("min", help_text="Kept within the provider's min and max.")
    max_quantity = models.PositiveBigIntegerField("max")
    refill = models.BooleanField("refill allowed", default=False)
    refill_days = models.PositiveSmallIntegerField(
        default=30, help_text="Refills allowed this long after completion."
    )
    auto_refill = models.CharField(
        "auto-refill",
        max_length=16,
        choices=AutoRefill.choices,
        blank=True,
        default=AutoRefill.OFF,
        help_text="Completed orders are looked at again within the refill window, and a refill is asked for "
        "them: when the provider reports a drop (only providers that report remains after completion do), "
        "or every N days. Never while a refill of the order is open, at most once every N days.",
    )
    auto_refill_days = models.PositiveSmallIntegerField(
        "auto-refill every (days)",
        default=7,
        validators=[MinValueValidator(1)],
        help_text='N: the interval of "every N days", and the least time between two auto-refills of an '
        "order in either mode.",
    )
    cancel = models.BooleanField("cancel allowed", default=False)
    dripfeed = models.CharField(
        "drip-feed",
        max_length=8,
        choices=Dripfeed.choices,
        blank=True,
        default=Dripfeed.INHERIT,
        help_text="Whether customers may order runs and interval (Default services only).",
    )
    price = models.DecimalField(
        **MONEY_FIELD, help_text="Per 1000 (per package for package types), panel currency."
    )
    manual_price = models.BooleanField(default=False, help_text="Set by hand: never changed by a sync.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    paused_by_sync = models.BooleanField(default=False, editable=False)
    pause_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_service"
        ordering = ["category", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_quantity__lte=models.F("max_quantity")), name="service_min_le_max"
            ),
            models.CheckConstraint(condition=Q(auto_refill_days__gte=1), name="service_auto_refill_days"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def auto_refill_on_drop(self) -> bool:
        return self.auto_refill in (self.AutoRefill.DROP, self.AutoRefill.DROP_OR_EVERY)

    @property
    def auto_refill_every(self) -> bool:
        return self.auto_refill in (self.AutoRefill.EVERY, self.AutoRefill.DROP_OR_EVERY)

    def clean(self):
        upstream = self.provider_service if self.provider_service_id else None
        if upstream is None or self.min_quantity is None or self.max_quantity is None:
            return
        errors = {}
        if self.auto_refill and not self.refill:
            errors["auto_refill"] = "Auto-refill needs refill allowed."
        elif self.auto_refill and not upstream.refill:
            errors["auto_refill"] = "The provider service offers no refill."
        elif self.auto_refill_every and self.auto_refill_days and self.auto_refill_days > self.refill_days:
            errors["auto_refill_days"] = (
                f"Every {self.auto_refill_days} days never falls within the refill "
                f"window of {self.refill_days} days."
            )
        if self.type != upstream.type:  # the price and the fields sent are per this type's unit
            errors["type"] = f"The provider service is a {upstream.type} service."
        if self.min_quantity < upstream.min_quantity:
            errors["min_quantity"] = f"The provider's minimum is {upstream.min_quantity}."
        if self.max_quantity > upstream.max_quantity:
            errors["max_quantity"] = f"The provider's maximum is {upstream.max_quantity}."
        if self.min_quantity > self.max_quantity:
            errors["max_quantity"] = "Max must be at least min."
        if errors:
            raise ValidationError(errors)


class ServiceRoute(models.Model):
    """One provider service a storefront service may be sold from. An order goes to the first usable route
    (in ``position`` order, or cheapest first) and to the next only where nothing was placed
    (``orders.routing``). The customer's price and limits are the service's, whatever the route."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="routes")
    provider_service = models.ForeignKey(ProviderService, on_delete=models.PROTECT, related_name="routes")
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower first.")
    enabled = models.BooleanField(default=True)
    min_quantity = models.PositiveBigIntegerField(
        "min", null=True, blank=True, help_text="Empty: the provider service's. Orders below go elsewhere."
    )
    max_quantity = models.PositiveBigIntegerField(
        "max", null=True, blank=True, help_text="Empty: the provider service's. Orders above go elsewhere."
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "provider_service"], name="one_route_per_provider_service"
            )
        ]

    def __str__(self) -> str:
        return f"Route {self.position} of {self.service_id}: {self.provider_service}"

    @property
    def limits(self) -> tuple[int, int]:
        """The quantities this route takes: its own, within its provider service's."""
        upstream = self.provider_service
        low = max(upstream.min_quantity, self.min_quantity or 0)
        high = min(upstream.max_quantity, self.max_quantity or upstream.max_quantity)
        return low, high

    def clean(self):
        if not self.provider_service_id or not self.service_id:
            return
        upstream, errors = self.provider_service, {}
        if upstream.type != self.service.type:  # the price and the fields sent are per the service's type
            errors["provider_service"] = f"Choose a {self.service.type} service, like the storefront's."
        if self.min_quantity is not None and self.min_quantity < upstream.min_quantity:
            errors["min_quantity"] = f"The provider's minimum is {upstream.min_quantity}."
        if self.max_quantity is not None and self.max_quantity > upstream.max_quantity:
            errors["max_quantity"] = f"The provider's maximum is {upstream.max_quantity}."
        if None not in (self.min_quantity, self.max_quantity) and self.min_quantity > self.max_quantity:
            errors["max_quantity"] = "Max must be at least min."
        if errors:
            raise ValidationError(errors)


class CustomerPricing(models.Model):
    """A customer's discount on every service, and their custom prices for some."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pricing")
    discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        db_table = "orders_customerpricing"

    def __str__(self) -> str:
        return f"{self.user}: -{self.discount_percent}%"


class CustomerServicePrice(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="custom_prices")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="custom_prices")
    price = models.DecimalField(**MONEY_FIELD)

    class Meta:
        db_table = "orders_customerserviceprice"
        constraints = [
            models.UniqueConstraint(fields=["user", "service"], name="one_custom_price_per_service")
        ]

    def __str__(self) -> str:
        return f"{self.user} pays {self.price} for {self.service}"
