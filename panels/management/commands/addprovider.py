import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from panels.services import provider_upsert


class Command(BaseCommand):
    help = (
        "Create a provider, or update the one with this name (URL with or without /api/v2). Updating it at "
        "the same URL may leave out the key to keep the stored one; a new URL needs the key again."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url")
        parser.add_argument(
            "key",
            nargs="?",
            help="The API key; '-' reads it from standard input, out of the process list and shell history "
            "(left out: the stored one is kept).",
        )
        parser.add_argument("--calls-per-minute", type=int)
        parser.add_argument("--send-concurrency", type=int, help="Orders in flight to it at once.")
        parser.add_argument("--low-balance-threshold")
        parser.add_argument("--key-header", choices=["", "X-Api-Key", "Authorization"])
        parser.add_argument("--disabled", action="store_true", help="Register it switched off.")
        parser.add_argument(
            "--register-webhook",
            action="store_true",
            help="The provider is a panel of this software: register this panel's webhook there (PANEL_URL "
            "must be set), so its orders update the moment they change there.",
        )

    def handle(self, *args, name, url, key=None, **options):
        extra = {
            field: options[option]
            for option, field in [
                ("calls_per_minute", "calls_per_minute"),
                ("send_concurrency", "send_concurrency"),
                ("low_balance_threshold", "low_balance_threshold"),
                ("key_header", "key_header"),
            ]
            if options[option] is not None
        }
        extra["enabled"] = not options["disabled"]
        if key == "-":
            key = (getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.readline()).strip()
            if not key:
                raise CommandError("No API key was given on standard input.")
        try:
            provider, created = provider_upsert(name=name, api_url=url, api_key=key, **extra)
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{f}: {' '.join(m)}" for f, m in error.message_dict.items())
            ) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} provider {provider.name}: {provider.api_url} (key {provider.masked_key})"
            )
        )
        if options["register_webhook"]:
            from webhooks.upstream import RegistrationFailed, upstream_register

            try:
                hook = upstream_register(provider=provider)
            except RegistrationFailed as error:
                raise CommandError(f"Webhook not registered: {error}") from None
            self.stdout.write(self.style.SUCCESS(f"Webhook registered at {provider.name}: {hook.url}"))
