from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.services import api_key_issue


class Command(BaseCommand):
    help = "Issue a new API key for a customer (their previous key stops working) and print it."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is disabled: enable the account first.")
        _, raw = api_key_issue(user=user)
        self.stdout.write(raw)
