from celery import shared_task

from support.mails import ticket_answered_mail_send
from support.models import TicketMessage


@shared_task
def ticket_answered_mail(message_id: int) -> None:
    message = TicketMessage.objects.select_related("ticket__user").get(pk=message_id)
    ticket_answered_mail_send(ticket=message.ticket, message=message)
