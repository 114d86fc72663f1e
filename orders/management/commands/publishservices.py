from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from orders.margins import SellingAtLoss
from orders.models import MarkupRule
from orders.storefront import services_publish
from panels.models import Provider


def decimal_argument(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"{value!r} is not a number") from None


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
                percent=decimal_argument(markup),
                fixed=decimal_argument(fixed),
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
