"""Alerts to operators: by email (the staff chosen in the settings, else ``ADMINS``) and Telegram, each
switched per kind, and quiet: after an alert about one thing (a kind and a subject: a provider, the queue…),
the same alert is held back for the quiet period, so one outage sends one message, not hundreds. Alerts are
raised inside the caller's transaction and sent by a worker after it commits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record
from content.branding import branding_current
from notifications.kinds import Channel, OperatorKind
from notifications.models import OperatorAlert, OperatorSettings
from notifications.telegram import telegram_send

logger = logging.getLogger(__name__)


def operator_settings() -> OperatorSettings:
    found, _ = OperatorSettings.objects.get_or_create(pk=1)
    return found


def operator_alert(*, kind: str, subject: str, text: str, now=None) -> bool:
    """Raise an alert of ``kind`` about ``subject`` saying ``text``. Sent on each channel switched on for
    ``kind`` once the caller's transaction commits — unless the same kind and subject was sent within the
    quiet period: then it is counted, and the next message says how many were held back. Returns whether it
    is sent."""
    now = now or timezone.now()
    config = operator_settings()
    with transaction.atomic():
        alert, _ = OperatorAlert.objects.select_for_update().get_or_create(
            kind=kind, subject=subject[:100], defaults={"text": text, "raised_at": now}
        )
        quiet = timedelta(minutes=config.quiet_minutes)
        alert.text, alert.raised_at = text, now
        if alert.sent_at is not None and now - alert.sent_at < quiet:
            alert.held_back += 1
            alert.save(update_fields=["text", "raised_at", "held_back"])
            return False
        message = text
        if alert.held_back:
            message += f"\n({alert.held_back} more like this held back since the last message.)"
        alert.sent_at, alert.held_back = now, 0
        alert.save(update_fields=["text", "raised_at", "sent_at", "held_back"])
        for channel in Channel.values:
            if config.sends(kind, channel):
                transaction.on_commit(lambda channel=channel: _queue(channel, kind, message))
    return True


def _queue(channel: str, kind: str, message: str) -> None:
    from notifications.tasks import operator_message

    try:
        operator_message.delay(channel, kind, message)
    except Exception:  # the broker is down: the log says what was not told
        logger.exception("Could not queue the %s alert %s: %s", channel, kind, message)


def _subject_prefix() -> str:
    """``EMAIL_SUBJECT_PREFIX`` when set, else the panel's name as branded ("[Acme Boost] ")."""
    if settings.EMAIL_SUBJECT_PREFIX_SET:
        return settings.EMAIL_SUBJECT_PREFIX
    return f"[{branding_current().panel_name}] "


def operator_message_send(*, channel: str, kind: str, message: str) -> bool:
    """Send one alert on one channel now (a worker). Transport errors are raised for the task to retry."""
    config = operator_settings()
    title = f"{_subject_prefix()}{message.splitlines()[0]}"[:200]
    if channel == Channel.EMAIL:
        recipients = [user.email for user in config.email_to.filter(is_active=True) if user.email]
        recipients = recipients or [email for _, email in settings.ADMINS]
        if not recipients:
            return False
        send_mail(title, message, settings.SERVER_EMAIL, recipients)
        return True
    if channel == Channel.TELEGRAM:
        if not (config.telegram_bot_token and config.telegram_chat_id):
            return False
        telegram_send(token=config.telegram_bot_token, chat_id=config.telegram_chat_id, text=message)
        return True
    raise ValueError(f"Unknown channel {channel}")


def operator_test_message(*, actor) -> list[str]:
    """Send a test message on every channel set up (whatever the kinds switched on), to check the addresses
    and the bot, by a worker once this commits; recorded in the audit trail. Returns the channels."""
    config = operator_settings()
    channels = [Channel.EMAIL]
    if config.telegram_bot_token and config.telegram_chat_id:
        channels.append(Channel.TELEGRAM)
    message = f"Test alert from the panel, sent by {actor} from the console: alerts reach you here."
    with transaction.atomic():
        audit_record(actor=actor, verb="send_test_alert", target=config, reason=", ".join(channels))
        for channel in channels:
            transaction.on_commit(lambda channel=channel: _queue(channel, "test", message))
    return channels


def _admin_link(name: str, *args) -> str:
    path = reverse(name, args=args)
    return f"\n{settings.PANEL_URL}{path}" if settings.PANEL_URL else f"\n(in the console: {path})"


# --- the alerts other apps raise ---------------------------------------------------------------------------


def provider_out_of_funds_alert(*, provider, message: str) -> None:
    """A provider refused an order for want of funds: its orders wait until its balance is topped up."""
    operator_alert(
        kind=OperatorKind.PROVIDER_OUT_OF_FUNDS,
        subject=f"provider:{provider.pk}",
        text=f"Provider {provider} is out of funds: orders to it wait until its balance is topped up. "
        f"The provider said: {message}" + _admin_link("admin:panels_provider_change", provider.pk),
    )


def topup_waiting_alert(*, topup) -> None:
    """A customer says they paid by hand: an operator checks the payment and approves or rejects it."""
    operator_alert(
        kind=OperatorKind.TOPUP_WAITING,
        subject=f"topup:{topup.pk}",
        text=f"Top-up #{topup.pk} of {topup.amount} {topup.currency} by {topup.user} waits for approval "
        f"(reference {topup.reference})." + _admin_link("admin:billing_topup_change", topup.pk),
    )


def ticket_opened_alert(*, ticket) -> None:
    """A customer opened a support ticket (heard from ``support.signals.ticket_opened``)."""
    opts = ticket._meta
    operator_alert(
        kind=OperatorKind.TICKET_OPENED,
        subject=f"ticket:{ticket.pk}",
        text=f"New ticket: {ticket}."
        + _admin_link(f"admin:{opts.app_label}_{opts.model_name}_change", ticket.pk),
    )
