"""The mail that tells a customer their ticket was answered: plain text and HTML, sent by a worker once the
answer commits (``support.tasks.ticket_answered_mail``), never in the request that answered. It quotes the
answer only: internal notes are another model, which nothing here reads."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from support.models import TicketMessage


def ticket_answered_mail_send(*, ticket, message: TicketMessage) -> bool:
    """Tell ``ticket``'s customer that the staff answered with ``message``, if they have an address.
    Returns whether a mail went."""
    user = ticket.user
    if not user.email or not message.from_staff:
        return False
    path = reverse("support:ticket", args=[ticket.pk])
    context = {
        "ticket": ticket,
        "message": message,
        "user": user,
        "ticket_url": f"{settings.PANEL_URL}{path}" if settings.PANEL_URL else "",
    }
    mail = EmailMultiAlternatives(
        _("Ticket #%(number)s answered: %(subject)s") % {"number": ticket.pk, "subject": ticket.subject},
        render_to_string("support/emails/ticket_answered.txt", context),
        to=[user.email],
    )
    mail.attach_alternative(render_to_string("support/emails/ticket_answered.html", context), "text/html")
    mail.send()
    return True
