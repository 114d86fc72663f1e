from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

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

    def handle(self, *args, provider, markup, fixed, category, rounding, **options):
        found = Provider.objects.filter(name=provider).first()
        if found is None:
            raise CommandError(f"No provider called {provider!r}")
        result = services_publish(
            provider=found,
            percent=decimal_argument(markup),
            fixed=decimal_argument(fixed),
            rounding=rounding,
            category=category,
        )
        for service in result.created:
            self.stdout.write(f"  published #{service.pk} {service.name} at {service.price}")
        for service in result.repriced:
            self.stdout.write(f"  repriced #{service.pk} {service.name} to {service.price}")
        for reason in result.skipped:
            self.stdout.write(self.style.WARNING(f"  skipped {reason}"))
        self.stdout.write(self.style.SUCCESS(f"{found.name}: {result.summary()}"))
