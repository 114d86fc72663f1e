from celery import shared_task

from billing.mails import topup_mail_send
from billing.models import TopUp


@shared_task
def topup_mail(topup_id: int) -> None:
    topup_mail_send(topup=TopUp.objects.select_related("user").get(pk=topup_id))
