"""Provider health: the circuit breaker that routing (``orders.routing``) obeys.

A provider whose calls keep failing — at least ``BREAKER_MIN_FAILED`` calls that sent nothing or got no valid
answer, making ``BREAKER_FAILED_PERCENT`` of its calls in the last ``BREAKER_WINDOW_SECONDS`` — is marked
*down* until a cool-off (``BREAKER_COOLOFF_SECONDS``) ends. Routing skips it meanwhile: its orders with
another route go there, the others wait. After the cool-off it is *on trial* (half-open): one order may be
sent to it (``breaker_trial_take``), and the next answered call — that order's, a status sync's, a balance
check's — closes the breaker, while a failed one opens it for another cool-off. An operator may mark a
provider down by hand (the provider admin's action, audited); it stays down until they mark it up.

The state lives on the ``Provider`` row, so every process and page reads the same; the evidence is the call
log (``ProviderCall``), which every call already writes. It is fed by
``panels.services.provider_calls_record`` and read only when a call failed, so a healthy provider costs
nothing more.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from audit.services import audit_changes, audit_record
from panels.client import CallRecord
from panels.models import Provider, ProviderCall

logger = logging.getLogger(__name__)

FAILED = (ProviderCall.Outcome.UNAVAILABLE, ProviderCall.Outcome.UNKNOWN)
RATE_LIMITED = 429  # the provider's pace, not its health: never counted


class Breaker:
    UP = "up"
    DOWN = "down"  # the breaker opened: until ``down_until``
    TRIAL = "trial"  # the cool-off is over: one trial decides
    BY_HAND = "down by hand"


def breaker_state(provider: Provider, *, now: datetime | None = None) -> str:
    if provider.down_by_hand:
        return Breaker.BY_HAND
    if provider.down_until is None:
        return Breaker.UP
    return Breaker.DOWN if provider.down_until > (now or timezone.now()) else Breaker.TRIAL


def provider_is_down(provider: Provider, *, now: datetime | None = None) -> bool:
    """Routing sends it nothing now (on trial it is not down: ``breaker_trial_take`` lets one order go)."""
    return breaker_state(provider, now=now) in (Breaker.DOWN, Breaker.BY_HAND)


def breaker_trial_take(provider: Provider, *, now: datetime | None = None) -> bool:
    """Whether the caller may send the one trial order to a provider on trial: taken atomically, so two
    dispatchers never both try; a trial unanswered for ``BREAKER_TRIAL_SECONDS`` lets another go."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.BREAKER_TRIAL_SECONDS)
    taken = (
        Provider.objects.filter(pk=provider.pk, down_by_hand=False, down_until__lte=now)
        .filter(Q(trial_since__isnull=True) | Q(trial_since__lt=stale))
        .update(trial_since=now)
    )
    if taken:
        provider.trial_since = now
    return bool(taken)


def _failed(record: CallRecord) -> bool:
    return record.outcome in FAILED and record.http_status != RATE_LIMITED


def breaker_record(*, provider: Provider, records: list[CallRecord], now: datetime | None = None) -> str:
    """Feed the breaker with the outcomes of calls just made to ``provider`` (written to the call log
    already); returns its state after them."""
    now = now or timezone.now()
    if not records:
        return breaker_state(provider, now=now)
    failed = any(_failed(record) for record in records)
    answered = any(not _failed(record) for record in records)
    # Answered calls of a provider whose breaker is closed (nearly always): one small read, no lock.
    if not failed and not Provider.objects.filter(pk=provider.pk, down_until__isnull=False).exists():
        return breaker_state(provider, now=now)
    with transaction.atomic():
        current = Provider.objects.select_for_update().get(pk=provider.pk)
        state = breaker_state(current, now=now)
        if state == Breaker.TRIAL and answered and not failed:
            _close(current, now)
        elif state == Breaker.TRIAL and failed:
            _open(current, now, "The trial after the cool-off failed too.")
        elif state == Breaker.UP and failed and (reason := _failing(current, now)):
            _open(current, now, reason)
        state = breaker_state(current, now=now)
    for name in ("down_until", "down_reason", "trial_since", "up_since"):
        setattr(provider, name, getattr(current, name))
    return state


def _failing(provider: Provider, now: datetime) -> str:
    """Why the recent calls say the provider is failing, or "" when they do not."""
    since = now - timedelta(seconds=settings.BREAKER_WINDOW_SECONDS)
    if provider.up_since and provider.up_since > since:
        since = provider.up_since  # what failed before it came back was judged already
    counted = ProviderCall.objects.filter(provider=provider, created_at__gte=since).exclude(
        http_status=RATE_LIMITED
    )
    figures = counted.aggregate(calls=Count("pk"), failed=Count("pk", filter=Q(outcome__in=FAILED)))
    calls, failed = figures["calls"], figures["failed"]
    if failed < settings.BREAKER_MIN_FAILED or failed * 100 < settings.BREAKER_FAILED_PERCENT * calls:
        return ""
    window = settings.BREAKER_WINDOW_SECONDS
    return f"{failed} of {calls} calls failed (nothing sent, or no valid answer) within {window} s."


def _open(provider: Provider, now: datetime, reason: str) -> None:
    provider.down_until = now + timedelta(seconds=settings.BREAKER_COOLOFF_SECONDS)
    provider.down_reason, provider.trial_since = reason[:255], None
    provider.save(update_fields=["down_until", "down_reason", "trial_since"])
    logger.warning("Provider %s marked down until %s: %s", provider, provider.down_until, reason)


def _close(provider: Provider, now: datetime) -> None:
    provider.down_until, provider.down_reason, provider.trial_since, provider.up_since = None, "", None, now
    provider.save(update_fields=["down_until", "down_reason", "trial_since", "up_since"])
    logger.warning("Provider %s is back: a call was answered after its cool-off", provider)


# --- by hand ------------------------------------------------------------------------------------------


def _breaker_said(provider: Provider) -> dict:
    return {"state": breaker_state(provider), "down_reason": provider.down_reason}


def provider_mark_down(*, provider: Provider, actor, reason: str = "") -> None:
    """An operator stops routing orders to ``provider`` until they mark it up: its orders with another
    route go there, the others wait."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        before = _breaker_said(provider)
        provider.down_by_hand, provider.trial_since = True, None
        provider.down_reason = (f"Marked down by {actor}" + (f": {reason}" if reason else "."))[:255]
        provider.save(update_fields=["down_by_hand", "down_reason", "trial_since"])
        changes = audit_changes(before, _breaker_said(provider))
        audit_record(actor=actor, verb="mark_down", target=provider, changes=changes, reason=reason)


def provider_mark_up(*, provider: Provider, actor) -> None:
    """An operator routes orders to ``provider`` again (by hand or after the breaker opened): at once, its
    failures so far judged."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        before = _breaker_said(provider)
        provider.down_by_hand, provider.down_until, provider.trial_since = False, None, None
        provider.down_reason, provider.up_since = "", timezone.now()
        provider.save(update_fields=["down_by_hand", "down_until", "trial_since", "down_reason", "up_since"])
        changes = audit_changes(before, _breaker_said(provider))
        audit_record(actor=actor, verb="mark_up", target=provider, changes=changes)
