"""Thin tasks: customer mails and operator messages (the sending queue), the periodic check (beat)."""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from notifications.conditions import operator_conditions_check
from notifications.customers import notification_send, notifications_prune, notifications_requeue_lost
from notifications.operators import operator_message_send
from notifications.transport import TRANSPORT_ERRORS

logger = logging.getLogger(__name__)

RETRIES = {
    "autoretry_for": TRANSPORT_ERRORS,
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 8,
}


@shared_task(bind=True, max_retries=RETRIES["max_retries"])
def customer_mail(self, *notification_ids: int) -> None:
    """Send notifications in turn: one, or all that a transaction recorded (one message for a status sync's
    batch). One that fails holds none back: those after it go on at once, in a message of their own, and it
    alone is tried again (with backoff) when its transport failed."""
    for n, notification_id in enumerate(notification_ids):
        try:
            notification_send(notification_id=notification_id)
        except Exception as error:
            if rest := notification_ids[n + 1 :]:
                customer_mail.delay(*rest)
            if not isinstance(error, TRANSPORT_ERRORS):
                raise
            backoff = get_exponential_backoff_interval(
                factor=RETRIES["retry_backoff"],
                retries=self.request.retries,
                maximum=RETRIES["retry_backoff_max"],
                full_jitter=True,
            )
            raise self.retry(args=(notification_id,), exc=error, countdown=backoff) from error


@shared_task(**RETRIES)
def operator_message(channel: str, kind: str, message: str) -> None:
    operator_message_send(channel=channel, kind=kind, message=message)


@shared_task
def prune_notifications() -> None:
    notifications_prune()


@shared_task
def check_notifications() -> None:
    raised = operator_conditions_check()
    requeued = notifications_requeue_lost()
    if raised or requeued:
        logger.info(
            "Operator conditions raised: %s; customer notifications queued again: %s", raised, requeued
        )
