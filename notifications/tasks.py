"""Thin tasks: customer mails and operator messages (the sending queue), the periodic check (beat)."""

import logging

from celery import shared_task

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


@shared_task(**RETRIES)
def customer_mail(notification_id: int) -> None:
    notification_send(notification_id=notification_id)


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
