"""Mails to customers: the one path they all take (``customer_notify``: the customer's switch and address,
their language and time zone, text and HTML, a one-click unsubscribe), and the events that queue them
(``customer_events``: one ``Notification`` per event, written in its transaction, sent by a worker after
commit)."""

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.services import profile_for
from notifications.kinds import CustomerKind as K
from notifications.models import CustomerPreferences, Notification
from notifications.transport import TRANSPORT_ERRORS
from notifications.unsubscribe import unsubscribe_url
from reseller.bulk import rows_insert_new, rows_update
from storefront.money import display_currency_for, money_text

logger = logging.getLogger(__name__)
N = Notification.Status

# A queued notification still pending this long was lost on its way to a worker (a broker outage, a
# worker killed before it claimed it): the periodic check queues it again, for a day.
LOST_AFTER = timedelta(minutes=10)
LOST_GIVE_UP = timedelta(days=1)


def preferences_for(user) -> CustomerPreferences:
    preferences, _ = CustomerPreferences.objects.get_or_create(user=user)
    return preferences


def panel_link(name: str, *args) -> str:
    """An absolute link into the panel for a mail, or "" without ``PANEL_URL``."""
    return f"{settings.PANEL_URL}{reverse(name, args=args)}" if settings.PANEL_URL else ""


def customer_notify(
    *,
    user,
    kind: str,
    subject: str,
    template: str,
    context: Mapping,
    subject_params: Mapping | None = None,
) -> bool:
    """Mail ``user`` about ``kind`` now, unless they turned that kind off or have no address; returns whether
    a mail went. Call it from a worker. ``template`` names two templates, ``<template>.txt`` and
    ``<template>.html``; ``subject`` (a lazy translation, ``%(name)s`` filled from ``subject_params``) and
    both bodies are rendered in the customer's language and time zone. Each mail carries a one-click
    unsubscribe for its kind, in its body and as RFC 8058 headers (when ``PANEL_URL`` is set). Amounts are
    shown as the storefront shows them to this customer, in their display currency: ``{% money %}`` in the
    bodies, and each ``Decimal`` of ``subject_params`` (an amount in the panel currency) in the subject."""
    if kind not in K.values:
        raise ValueError(f"Unknown kind of notification: {kind}")
    if not user.email or not preferences_for(user).wants(kind):
        return False
    profile = profile_for(user)
    unsubscribe = unsubscribe_url(user=user, kind=kind)
    currency = display_currency_for(user)
    params = {
        name: money_text(value, currency) if isinstance(value, Decimal) else value
        for name, value in (subject_params or {}).items()
    }
    with translation.override(profile.language), timezone.override(profile.timezone):
        full = {
            **context,
            "display_currency": currency,
            "user": user,
            "kind_label": K(kind).label,
            "unsubscribe_url": unsubscribe,
            "settings_url": panel_link("accounts:notifications"),
        }
        title = str(subject) % params if params else str(subject)
        text = render_to_string(f"{template}.txt", full)
        html = render_to_string(f"{template}.html", full)
    headers = {}
    if unsubscribe:
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    mail = EmailMultiAlternatives(title, text, to=[user.email], headers=headers)
    mail.attach_alternative(html, "text/html")
    mail.send()
    return True


# --- events: one notification each, sent after commit ------------------------------------------------------


@dataclass(frozen=True)
class CustomerEvent:
    """Customer ``user_id`` is to be told of ``kind``, about the event ``key`` (kind, object and state)."""

    user_id: int
    kind: str
    key: str
    target_id: int | None = None


def customer_events(events: Iterable[CustomerEvent]) -> list[int]:
    """Record each event in the caller's transaction and queue their mails once it commits: one statement and
    one message however many (a status sync's batch moves a hundred orders). An event already recorded is not
    told again. A rolled-back transaction tells nobody. Returns the ids of the notifications recorded now."""
    rows = [
        {"key": event.key[:200], "kind": event.kind, "user_id": event.user_id, "target_id": event.target_id}
        for event in events
    ]
    recorded = rows_insert_new(Notification, rows, unique="key")
    if recorded:
        transaction.on_commit(partial(_queue, recorded))
    return recorded


def _queue(notification_ids: list[int]) -> None:
    from notifications.tasks import customer_mail

    try:
        customer_mail.delay(*notification_ids)
    except Exception:  # the broker is down: the rows stay pending and the periodic check queues them again
        logger.exception("Could not queue customer notifications %s", notification_ids)


def notification_send(*, notification_id: int) -> str:
    """Send one queued notification: claimed first (pending → sending), so a task run twice mails once.
    A transport error puts it back to pending and is raised for the task to retry. Returns its status."""
    claimed = Notification.objects.filter(pk=notification_id, status=N.PENDING).update(
        status=N.SENDING, attempts=F("attempts") + 1
    )
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    if not claimed:
        return notification.status
    try:
        mail = MAILS[notification.kind](notification)
        sent = mail is not None and customer_notify(
            user=notification.user,
            kind=notification.kind,
            subject=mail.subject,
            subject_params=mail.subject_params,
            template=mail.template,
            context=mail.context,
        )
    except TRANSPORT_ERRORS as error:  # tried again by the task, with backoff
        Notification.objects.filter(pk=notification_id).update(
            status=N.PENDING, detail=f"{type(error).__name__}: {error}"[:255]
        )
        raise
    except Exception as error:  # a bug or a vanished object: trying again changes nothing
        Notification.objects.filter(pk=notification_id).update(
            status=N.SKIPPED, detail=f"Failed: {type(error).__name__}: {error}"[:255]
        )
        raise
    status, detail = (N.SENT, "") if sent else (N.SKIPPED, "Turned off, no address, or nothing to tell.")
    Notification.objects.filter(pk=notification_id).update(
        status=status, detail=detail, sent_at=timezone.now() if sent else None
    )
    return status


def notifications_requeue_lost(*, now=None) -> int:
    """Queue again the notifications whose task never reached a worker (see ``LOST_AFTER``)."""
    now = now or timezone.now()
    lost = list(
        Notification.objects.filter(
            status=N.PENDING, created_at__lt=now - LOST_AFTER, created_at__gte=now - LOST_GIVE_UP
        ).values_list("pk", flat=True)[:500]
    )
    if lost:
        _queue(lost)
    return len(lost)


def notifications_prune(*, now=None) -> int:
    """Forget notifications older than ``NOTIFICATION_LOG_DAYS`` (their events are long settled)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.NOTIFICATION_LOG_DAYS)
    deleted, _ = Notification.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- what each kind says --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    subject: str
    template: str
    context: dict
    subject_params: dict = field(default_factory=dict)


ORDER_SUBJECTS = {
    K.ORDER_COMPLETED: _("Order #%(number)s is completed"),
    K.ORDER_PARTIAL: _("Order #%(number)s was partly delivered: %(refund)s refunded"),
    K.ORDER_CANCELED: _("Order #%(number)s was canceled: %(refund)s refunded"),
}
TOPUP_SUBJECTS = {
    K.TOPUP_CREDITED: _("%(amount)s added to your balance"),
    K.TOPUP_REJECTED: _("Your payment of %(amount)s was not accepted"),
    K.TOPUP_REVERSED: _("Your payment of %(amount)s was taken back"),
}


def _order_mail(notification: Notification) -> Mail:
    from orders.models import Order

    order = Order.objects.select_related("service").get(pk=notification.target_id)
    return Mail(
        subject=ORDER_SUBJECTS[notification.kind],
        subject_params={"number": order.pk, "refund": order.refunded},
        template="notifications/emails/order",
        context={
            "order": order,
            "kind": notification.kind,
            "order_url": panel_link("storefront:order", order.pk),
        },
    )


def _refill_mail(notification: Notification) -> Mail:
    from orders.models import Refill

    refill = Refill.objects.select_related("order__service").get(pk=notification.target_id)
    return Mail(
        subject=_("The refill of order #%(number)s is done"),
        subject_params={"number": refill.order_id},
        template="notifications/emails/refill",
        context={
            "refill": refill,
            "order": refill.order,
            "order_url": panel_link("storefront:order", refill.order_id),
        },
    )


def _topup_mail(notification: Notification) -> Mail:
    from billing.models import TopUp

    topup = TopUp.objects.get(pk=notification.target_id)
    return Mail(
        subject=TOPUP_SUBJECTS[notification.kind],
        subject_params={"amount": topup.amount},
        template="notifications/emails/topup",
        context={"topup": topup, "funds_url": panel_link("storefront:funds")},
    )


def _low_balance_mail(notification: Notification) -> Mail | None:
    from billing.models import LedgerEntry

    entry = LedgerEntry.objects.select_related("account").get(pk=notification.target_id)
    threshold = preferences_for(notification.user).low_balance_threshold
    if threshold is None:  # turned off since
        return None
    return Mail(
        subject=_("Your balance is below %(threshold)s"),
        subject_params={"threshold": threshold},
        template="notifications/emails/low_balance",
        context={
            "balance": entry.balance_after,
            "threshold": threshold,
            "funds_url": panel_link("storefront:funds"),
        },
    )


# The kinds a ``Notification`` row can be sent for, and what each says. Ticket answers are the support app's:
# it registers what they say (``customer_mail_register``) and records each answer with ``customer_events``.
MAILS: dict[str, Callable[[Notification], Mail | None]] = {
    K.ORDER_COMPLETED: _order_mail,
    K.ORDER_PARTIAL: _order_mail,
    K.ORDER_CANCELED: _order_mail,
    K.REFILL_COMPLETED: _refill_mail,
    K.TOPUP_CREDITED: _topup_mail,
    K.TOPUP_REJECTED: _topup_mail,
    K.TOPUP_REVERSED: _topup_mail,
    K.LOW_BALANCE: _low_balance_mail,
}


def customer_mail_register(kind: str, mail: Callable[[Notification], Mail | None]) -> None:
    """Let ``customer_events`` rows of ``kind`` be sent: ``mail(notification)`` says what (another app's
    kind, e.g. the support app's ``ticket_answered`` from its ``ready()``)."""
    if kind not in K.values:
        raise ValueError(f"Unknown kind of notification: {kind}")
    MAILS[kind] = mail


# --- the customer's switches ----------------------------------------------------------------------------


def preferences_update(*, user, wanted: set[str], low_balance_threshold: Decimal | None) -> None:
    """Save the kinds ``user`` wants mailed and their threshold. A new threshold is judged afresh: the next
    balance change below it is told."""
    with transaction.atomic():
        preferences = CustomerPreferences.objects.select_for_update().get(pk=preferences_for(user).pk)
        preferences.muted = sorted(set(K.values) - set(wanted))
        if preferences.low_balance_threshold != low_balance_threshold:
            preferences.low_balance_told = False
        preferences.low_balance_threshold = low_balance_threshold
        preferences.save()


def unsubscribe(*, user, kind: str) -> None:
    """Turn ``kind`` off for ``user`` (the one-click link)."""
    with transaction.atomic():
        preferences = CustomerPreferences.objects.select_for_update().get(pk=preferences_for(user).pk)
        if kind not in preferences.muted:
            preferences.muted = sorted({*preferences.muted, kind})
            preferences.save(update_fields=["muted"])


def low_balance_check(*, entries) -> None:
    """Inside balance changes (their accounts locked), for their ledger ``entries`` in the order they were
    made: tell each customer once when their balance falls below their threshold; once it is back at or above
    it, the next fall is told again. A fixed number of statements for any number of entries and customers."""
    thresholds = {
        preferences.user_id: preferences
        for preferences in CustomerPreferences.objects.filter(
            user_id__in={entry.account.user_id for entry in entries}, low_balance_threshold__isnull=False
        )
    }
    flipped, falls = {}, []
    for entry in entries:
        preferences = thresholds.get(entry.account.user_id)
        if preferences is None:
            continue
        below = entry.balance_after < preferences.low_balance_threshold
        if below == preferences.low_balance_told:
            continue
        preferences.low_balance_told = below
        flipped[preferences.pk] = below
        if below:
            falls.append(
                CustomerEvent(
                    user_id=preferences.user_id,
                    kind=K.LOW_BALANCE,
                    key=f"low_balance:{preferences.user_id}:{entry.pk}",
                    target_id=entry.pk,
                )
            )
    rows_update(CustomerPreferences, [(pk, {"low_balance_told": told}, {}) for pk, told in flipped.items()])
    customer_events(falls)
