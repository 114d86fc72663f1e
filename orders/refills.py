"""Refills: asked for on completed orders within the service's window, sent upstream, followed to the end."""

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext

from audit.services import audit_changes, audit_record
from orders.models import Order, Refill
from orders.services import (
    STATUS_BATCH,
    STUCK_SENDING,
    enqueue_after_commit,
    lease_kept,
    order_event,
    retry_in,
)
from panels.client import ItemError, ProviderError, ProviderRejected, ProviderUnavailable, RemoteRefillStatus
from panels.models import Provider
from panels.normalize import RefillStatus
from panels.services import provider_client
from reseller.states import TransitionRefused, transition

logger = logging.getLogger(__name__)

R = Refill.Status
_FROM_PROVIDER = {
    RefillStatus.PENDING: R.PENDING,
    RefillStatus.IN_PROGRESS: R.IN_PROGRESS,
    RefillStatus.COMPLETED: R.COMPLETED,
    RefillStatus.REJECTED: R.REJECTED,
    RefillStatus.NOT_FOUND: R.REJECTED,
}
RETRY_SECONDS = 120


UNDER_WAY = gettext_lazy("A refill of this order is already under way.")
BEING_CHECKED = gettext_lazy(
    "An earlier refill request of this order got no clear answer from the provider and is being checked: "
    "you can ask again once it is settled."
)


def _send_after_commit(refill: Refill, task) -> None:
    """Queue ``task(refill.pk)``, the task that sends ``refill``, once the transaction commits; in the same
    transaction ``refill.next_attempt_at`` says a worker should pick it up now. A failed enqueue clears the
    stamp: no task is known, so the next sweep queues one."""
    rows, due = Refill.objects.filter(pk=refill.pk), timezone.now()
    rows.update(next_attempt_at=due)
    refill.next_attempt_at = due
    enqueue_after_commit(
        task, refill.pk, lost=lambda: rows.filter(next_attempt_at=due).update(next_attempt_at=None)
    )


def _requeue_lost(rows: QuerySet, task, *, now) -> int:
    """Queue ``task`` again for each of ``rows`` (refills waiting to be sent) whose task is lost:
    no task is known (``next_attempt_at`` is NULL: its enqueue failed), or it is ``SEND_TASK_LOST_MINUTES``
    past the time a worker should have picked it up — a grace longer than a real backlog takes, so a task
    still waiting in the broker is never doubled. Each re-queue moves the stamp to ``now``: a row is queued
    at most once per grace, and one that another sweep took meanwhile is skipped. Returns how many."""
    grace = timedelta(minutes=settings.SEND_TASK_LOST_MINUTES)
    lost = rows.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - grace))
    requeued = 0
    for pk in lost.values_list("pk", flat=True):
        if not lost.filter(pk=pk).update(next_attempt_at=now):
            continue
        try:
            task.delay(pk)
        except Exception:  # the broker is down: the next sweep tries again
            rows.filter(pk=pk, next_attempt_at=now).update(next_attempt_at=None)
            raise
        requeued += 1
    return requeued


def refill_refusal(order: Order) -> str | None:
    """Why ``order`` cannot be refilled now, or None when it can. One refill at a time: a request whose
    outcome is unknown may exist upstream, so a second one waits until an operator attaches or closes it."""
    service = order.service
    if not service.refill:
        return gettext("This service has no refill.")
    if order.status != Order.Status.COMPLETED or order.finished_at is None:
        return gettext("Only completed orders can be refilled.")
    if timezone.now() > order.finished_at + timedelta(days=service.refill_days):
        return ngettext(
            "The refill window of %(days)s day after completion has passed.",
            "The refill window of %(days)s days after completion has passed.",
            service.refill_days,
        ) % {"days": service.refill_days}
    open_statuses = {refill.status for refill in order.refills.all() if refill.status in Refill.states.open}
    if R.NEEDS_REVIEW in open_statuses:
        return BEING_CHECKED
    if open_statuses:
        return UNDER_WAY
    return None


def refill_request(*, order: Order, actor=None, auto_reason: str = "") -> Refill:
    """Ask for a refill; it is sent by a worker once this commits. ``auto_reason``: asked for by auto-refill
    (``orders.auto_refill``), not by a person, and why (for the operator)."""
    if refusal := refill_refusal(order):
        raise ValidationError(refusal)
    from orders.tasks import send_refill  # the task module imports this one

    try:
        with transaction.atomic():
            refill = Refill.objects.create(order=order, automatic=bool(auto_reason))
            if auto_reason:
                message, public = (
                    f"Auto-refill requested: {auto_reason}",
                    gettext_noop("Auto-refill requested."),
                )
            else:
                message = public = gettext_noop("Refill requested.")
            order_event(order=order, message=message, public=public, actor=actor)
            _send_after_commit(refill, send_refill)
    except IntegrityError:  # one_open_refill_per_order: a request raced this one
        raise ValidationError(UNDER_WAY) from None
    return refill


def refill_send(*, refill_id: int) -> int | None:
    """Claim, call, classify — as for orders; returns seconds until a retry, or None."""
    with transaction.atomic():
        refill = Refill.objects.select_for_update().select_related("order__provider").get(pk=refill_id)
        if refill.status != R.REQUESTED:
            return None
        transition(refill, R.SENDING, message="Sending the request to the provider.")
    order = refill.order
    try:
        refill_id_upstream = provider_client(order.provider).refill(order.provider_order_id)
    except ProviderUnavailable as error:
        # The task queues itself again with this countdown (orders.tasks.send_refill).
        delay = retry_in(error, RETRY_SECONDS)
        _settle(
            refill_id,
            R.REQUESTED,
            f"Not sent: {error}",
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        return delay
    except ProviderRejected as error:
        _settle(refill_id, R.REJECTED, f"Refused by the provider: {error.message}")
        return None
    except Exception as error:  # sent, no valid answer: a second request could double it
        _settle(refill_id, R.NEEDS_REVIEW, f"No valid answer to the refill request ({error}).")
        return None
    _settle(
        refill_id,
        R.PENDING,
        f"Accepted by the provider as refill #{refill_id_upstream}.",
        provider_refill_id=refill_id_upstream,
    )
    return None


def _settle(refill_id: int, status: str, message: str, *, actor=None, **changes) -> Refill:
    """Move the refill, locked here, to ``status``; its message is what the operator sees last."""
    with transaction.atomic():
        refill = Refill.objects.select_for_update().select_related("order").get(pk=refill_id)
        transition(
            refill, status, message=message, actor=actor, changes={"message": message[:255], **changes}
        )
    return refill


def _unknown_refill(refill_id: int) -> Refill:
    """The refill, if its outcome is unknown: only those are the operator's to resolve."""
    refill = Refill.objects.get(pk=refill_id)
    if refill.status != R.NEEDS_REVIEW:
        raise ValidationError(f"{refill.get_status_display()}, not in review.")
    return refill


def refill_attach_provider_id(*, refill_id: int, provider_refill_id: str, actor) -> None:
    """The operator found the refill at the provider: follow it from now on."""
    provider_refill_id = provider_refill_id.strip()
    with transaction.atomic():
        refill = _unknown_refill(refill_id)
        before = {"status": refill.status, "provider_refill_id": refill.provider_refill_id}
        refill = _settle(
            refill_id,
            R.PENDING,
            f"Provider refill #{provider_refill_id} attached by {actor}.",
            actor=actor,
            provider_refill_id=provider_refill_id,
        )
        after = {"status": refill.status, "provider_refill_id": refill.provider_refill_id}
        audit_record(actor=actor, verb="attach", target=refill, changes=audit_changes(before, after))


def refill_close(*, refill_id: int, actor, note: str = "") -> None:
    """The operator found no such refill at the provider: close it, so that the customer may ask again."""
    with transaction.atomic():
        _unknown_refill(refill_id)
        message = f"Closed by {actor}: the provider has no such refill." + (f" {note}" if note else "")
        refill = _settle(refill_id, R.REJECTED, message, actor=actor)
        changes = audit_changes({"status": R.NEEDS_REVIEW}, {"status": refill.status})
        audit_record(actor=actor, verb="close", target=refill, changes=changes, reason=note)


def refills_sweep(*, now=None) -> dict[str, int]:
    """Queue again the requested refills whose task is lost (``_requeue_lost``); refills stuck in ``sending``
    go to review."""
    from orders.tasks import send_refill

    now = now or timezone.now()
    requeued = _requeue_lost(Refill.objects.filter(status=R.REQUESTED), send_refill, now=now)
    stuck = Refill.objects.filter(status=R.SENDING, updated_at__lte=now - STUCK_SENDING)
    to_review = 0
    for refill_id in stuck.values_list("pk", flat=True):
        # Between the query and the lock the worker may have finished: then it is no longer ours to move.
        with contextlib.suppress(TransitionRefused):
            _settle(refill_id, R.NEEDS_REVIEW, "The worker stopped while sending the refill request.")
            to_review += 1
    return {"refills_requeued": requeued, "refills_to_review": to_review}


def refills_sync_statuses(*, provider: Provider, lease=None) -> int:
    """Follow open refills, 100 ids a call. Returns how many changed. ``lease`` (the caller's lock) is
    renewed before each batch is applied; if it is lost, the sync stops."""
    open_refills = list(
        Refill.objects.filter(order__provider=provider, status__in=Refill.states.group("followed"))
        .exclude(provider_refill_id="")
        .select_related("order")
    )
    client = provider_client(provider)
    changed = 0
    for start in range(0, len(open_refills), STATUS_BATCH):
        batch = open_refills[start : start + STATUS_BATCH]
        try:
            answers = client.refill_statuses(refill.provider_refill_id for refill in batch)
        except ProviderError as error:
            logger.warning("Refill sync of %s: a batch failed: %s", provider, error)
            continue
        if not lease_kept(lease):
            break
        for refill in batch:
            answer = answers.get(refill.provider_refill_id)
            if isinstance(answer, ItemError):
                answer = RemoteRefillStatus(RefillStatus.NOT_FOUND, answer.message)
            target = _FROM_PROVIDER.get(answer.status) if isinstance(answer, RemoteRefillStatus) else None
            if target is None or not Refill.states.allows(refill.status, target):
                continue
            # Read before the call: an operator or another sync may have moved it since.
            with contextlib.suppress(TransitionRefused):
                _settle(
                    refill.pk,
                    target,
                    f"The provider reports {answer.raw_status}.",
                    provider_status=answer.raw_status[:64],
                )
                changed += 1
    return changed
