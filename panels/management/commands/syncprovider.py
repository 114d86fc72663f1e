from django.core.management.base import BaseCommand, CommandError

from panels.catalogue import CatalogueRefused, catalogue_sync
from panels.client import ProviderError
from panels.models import Provider
from panels.services import balance_sync


class Command(BaseCommand):
    help = "Sync a provider's balance and service catalogue now, and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--balance-only", action="store_true")
        parser.add_argument("--catalogue-only", action="store_true")
        parser.add_argument(
            "--allow-empty", action="store_true", help="Accept an empty service list (pauses everything)."
        )

    def handle(self, *args, name, **options):
        provider = Provider.objects.filter(name=name).first()
        if provider is None:
            raise CommandError(
                f"No provider called {name!r}. Add it with: manage.py addprovider NAME URL KEY"
            )
        failures = []
        if not options["catalogue_only"]:
            try:
                balance = balance_sync(provider=provider)
                low = " — BELOW THE LOW-BALANCE THRESHOLD" if provider.is_low_balance else ""
                self.stdout.write(f"Balance: {balance.amount} {provider.currency}{low}")
            except ProviderError as error:
                failures.append(f"balance: {error}")
        if not options["balance_only"]:
            try:
                result = catalogue_sync(provider=provider, allow_empty=options["allow_empty"])
                self.stdout.write(f"Catalogue: {result.summary()}")
                for record in result.invalid:
                    self.stdout.write(f"  unreadable entry {record.remote_id or '?'}: {record.reason}")
            except (ProviderError, CatalogueRefused) as error:
                failures.append(f"catalogue: {error}")
        if failures:
            raise CommandError(f"Sync of {provider.name} failed — " + "; ".join(failures))
        self.stdout.write(self.style.SUCCESS(f"{provider.name} synced."))
