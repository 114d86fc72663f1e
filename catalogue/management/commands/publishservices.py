from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalogue.margins import SellingAtLoss
from catalogue.models import MarkupRule
from catalogue.publishing import services_publish
from panels.models import Provider
from reseller.numbers import decimal_number


def rule_argument(option: str, field: str, value: str) -> Decimal:
    """``value`` of ``--option`` for the markup rule's ``field``, within what its column holds (a markup of
    NaN, 1e999 or 30 digits stopped the command with a traceback)."""
    number = decimal_number(value)
    if number is None:
        raise CommandError(f"--{option} {value!r} is not a number: write it with the digits 0-9 and a point.")
    try:
        return MarkupRule._meta.get_field(field).clean(number, None)
    except ValidationError as error:
        raise CommandError(f"--{option} {value}: {' '.join(error.messages)}") from None


class Command(BaseCommand):
    help = "Publish a provider's services on the storefront with a markup (creates or reprices services)."

    def add_arguments(self, parser):
        parser.add_argument("provider", help="The provider's name.")
        parser.add_argument("--markup", required=True, help="Percent on top of the provider's cost, e.g. 40.")
        parser.add_argument("--fixed", default="0", help="Added per 1000 after the percent.")
        parser.add_argument("--category", default="", help="Only this category of the provider.")
        parser.add_argument(
            "--rounding", choices=MarkupRule.Rounding.values, default=MarkupRule.Rounding.CENT
        )
        parser.add_argument(
            "--allow-loss",
            action="store_true",
            help="Publish even if the markup sells some services under their current cost.",
        )

    def handle(self, *args, provider, markup, fixed, category, rounding, allow_loss, **options):
        found = Provider.objects.filter(name=provider).first()
        if found is None:
            raise CommandError(f"No provider called {provider!r}")
        try:
            result = services_publish(
                provider=found,
                percent=rule_argument("markup", "percent", markup),
                fixed=rule_argument("fixed", "fixed", fixed),
                rounding=rounding,
                category=category,
                allow_loss=allow_loss,
            )
        except SellingAtLoss as error:
            raise CommandError(
                f"Nothing published, under the current cost: {error.named}. --allow-loss sells at a loss."
            ) from None
        margins = {price.service.provider_service_id: price.margin for price in result.margins}
        for service in result.created:
            margin = margins[service.provider_service_id]
            self.stdout.write(f"  published #{service.pk} {service.name} at {service.price}: {margin}")
        for service in result.repriced:
            margin = margins[service.provider_service_id]
            self.stdout.write(f"  repriced #{service.pk} {service.name} to {service.price}: {margin}")
        for reason in result.skipped:
            self.stdout.write(self.style.WARNING(f"  skipped {reason}"))
        self.stdout.write(self.style.SUCCESS(f"{found.name}: {result.summary()}"))
