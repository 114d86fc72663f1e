from celery import shared_task

from console.heartbeat import PERIODIC, SENDING, heartbeat_record


@shared_task
def heartbeat() -> None:
    heartbeat_record(PERIODIC)
    heartbeat_sending.delay()


@shared_task
def heartbeat_sending() -> None:
    heartbeat_record(SENDING)
