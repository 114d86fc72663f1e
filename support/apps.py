from django.apps import AppConfig


class SupportConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "support"
    verbose_name = "Support tickets"

    def ready(self):
        from notifications.customers import customer_mail_register
        from notifications.kinds import CustomerKind
        from support.mails import ticket_answered_mail

        customer_mail_register(CustomerKind.TICKET_ANSWERED, ticket_answered_mail)
