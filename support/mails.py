"""What the "ticket answered" mail says. It is sent as every customer mail is (``notifications.customers``):
one ``Notification`` per answer recorded in the answer's transaction (``support.services``), mailed by a
worker after commit, in the customer's language, unless they turned the kind off. It quotes the answer only:
internal notes are another model, which nothing here reads."""

from django.utils.translation import gettext_lazy as _

from notifications.customers import Mail, panel_link
from notifications.models import Notification
from support.models import TicketMessage


def ticket_answered_mail(notification: Notification) -> Mail | None:
    """The mail for the staff answer ``notification`` names (None: nothing to tell)."""
    message = TicketMessage.objects.select_related("ticket").get(pk=notification.target_id)
    if not message.from_staff:
        return None
    ticket = message.ticket
    return Mail(
        subject=_("Ticket #%(number)s answered: %(subject)s"),
        subject_params={"number": ticket.pk, "subject": ticket.subject},
        template="support/emails/ticket_answered",
        context={"ticket": ticket, "message": message, "ticket_url": panel_link("support:ticket", ticket.pk)},
    )
