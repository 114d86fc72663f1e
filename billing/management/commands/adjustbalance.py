from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing.models import LedgerEntry
from billing.services import InsufficientFunds, account_for, balance_adjust
from reseller.numbers import decimal_number


class Command(BaseCommand):
    help = "Adjust a customer's balance by AMOUNT (negative to debit), with a reason kept in the ledger."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("amount", help="e.g. 25 or -3.50")
        parser.add_argument("--reason", required=True)
        parser.add_argument(
            "--operator", help="Staff username to record as the author (default: the first superuser)."
        )

    def handle(self, *args, username, amount, reason, operator, **options):
        users = get_user_model().objects
        customer = users.filter(username=username).first()
        if customer is None:
            raise CommandError(f"No user called {username!r}")
        author = (
            users.filter(username=operator, is_staff=True).first()
            if operator
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if author is None:
            raise CommandError("No staff user to record as the author; pass --operator USERNAME")
        value = decimal_number(amount)
        if value is None:
            raise CommandError(f"{amount!r} is not an amount: write it with the digits 0-9 and a point.")
        try:
            value = LedgerEntry._meta.get_field("amount").clean(value, None)  # what the ledger holds
        except ValidationError as error:
            raise CommandError(f"{amount}: {' '.join(error.messages)}") from None
        try:
            entry = balance_adjust(account=account_for(customer), amount=value, reason=reason, actor=author)
        except (ValueError, InsufficientFunds) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{username}: {entry.amount:+} → balance {entry.balance_after} ({reason.strip()})"
            )
        )
