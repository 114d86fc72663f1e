from celery import shared_task

from console.heartbeat import heartbeat_record


@shared_task
def heartbeat() -> None:
    heartbeat_record()
