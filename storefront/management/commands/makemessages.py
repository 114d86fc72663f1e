"""Django's makemessages over what customers read: the storefront, account, support and content pages, their
forms and messages, and customers' mails. The operator console, the provider side and the machine APIs stay
in English, so their sources are left out of the catalogues (and of the test that holds them complete)."""

from django.core.management.commands import makemessages

NOT_CUSTOMER_FACING = [
    "tests/*",
    "bench/*",
    "var/*",
    "staticfiles/*",
    "locale/*",
    "*/migrations/*",
    "*/management/*",
    "console/*",
    "panels/*",
    "api/*",
    "audit/*",
    "*/admin.py",
    "reseller/admin_tools.py",
    "templates/admin/*",
    "templates/console/*",
    "templates/unfold/*",  # the console's theme
    "templates/api/*",
    "templates/rest_framework/*",
]


class Command(makemessages.Command):
    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options["ignore_patterns"], *NOT_CUSTOMER_FACING]
        # File names without line numbers, and no obsolete entries: a catalogue changes only with its strings.
        options["add_location"] = options["add_location"] or "file"
        options["no_obsolete"] = True
        super().handle(*args, **options)
