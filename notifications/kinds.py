"""Every kind of notification, declared once: what customers may switch off in their settings (and unsubscribe
from in one click), and what operators are alerted of, with the channels the console switches per kind."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    ORDER_COMPLETED = "order_completed", _("An order is completed")
    ORDER_PARTIAL = "order_partial", _("An order ends partly delivered (with the refund)")
    ORDER_CANCELED = "order_canceled", _("An order is canceled (with the refund)")
    REFILL_COMPLETED = "refill_completed", _("A refill is done")
    TOPUP_CREDITED = "topup_credited", _("A payment is added to your balance")
    TOPUP_REJECTED = "topup_rejected", _("A payment is not accepted")
    TOPUP_REVERSED = "topup_reversed", _("A payment is taken back (refunded or disputed)")
    TICKET_ANSWERED = "ticket_answered", _("Support answers your ticket")
    LOW_BALANCE = "low_balance", _("Your balance falls below your threshold")


class OperatorKind(models.TextChoices):
    PROVIDER_BALANCE_LOW = "provider_balance_low", "A provider's balance is below its threshold"
    PROVIDER_OUT_OF_FUNDS = "provider_out_of_funds", "A provider refuses orders for want of funds"
    PROVIDER_ERRORS = "provider_errors", "A provider's calls fail often"
    SYNC_LATE = "sync_late", "A provider's sync is late"
    HEARTBEAT_STALE = "heartbeat_stale", "A worker or the scheduler stopped"
    REVIEW_QUEUE = "review_queue", "The review queue is growing"
    TOPUP_WAITING = "topup_waiting", "A manual payment waits for approval"
    TICKET_OPENED = "ticket_opened", "A customer opened a ticket"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    TELEGRAM = "telegram", "Telegram"
