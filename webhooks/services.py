"""Webhooks for resellers: the customer's endpoint (set, rotate, remove), the events queued for it in the
transaction of the change (the outbox), and the runs that sign and send what is due.

Delivery is at least once: an event is a ``Delivery`` row written with the status change it tells, so a
worker that dies loses nothing; a run sends what is due, records each attempt, and retries failures with
exponential backoff and jitter for ``WEBHOOKS_RETRY_HOURS``, then marks them failed. An order's events (its
refills' too) go out in the order they happened: a later one waits while an earlier one is undelivered.
"""

import base64
import json
import logging
import random
import secrets
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from api.v2_actions import status_answer
from audit.services import audit_record
from orders.models import Order, Refill
from reseller.bulk import rows_insert
from webhooks import transport
from webhooks.models import Delivery, Endpoint
from webhooks.transport import TargetRefused, address_refusal, safe_post, url_refusal

logger = logging.getLogger(__name__)

EVENT_ORDER = "order.status_changed"
EVENT_REFILL = "refill.status_changed"
EVENT_TEST = "test"


def secret_new() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- the customer's endpoint -----------------------------------------------------------------------


def url_validate(url: str) -> str:
    """``url`` as a webhook URL, or a ``ValidationError`` saying what is wrong. A host that does not resolve
    yet is accepted (the receiver may come later); one that resolves to an address we never call is not.
    The check at send time is the one that counts: DNS may answer otherwise by then."""
    url = (url or "").strip()
    if problem := url_refusal(url):
        raise ValidationError({"url": problem})
    if len(url) > Endpoint._meta.get_field("url").max_length:
        raise ValidationError({"url": _("The URL is too long.")})
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        return url
    parts = urlsplit(url)
    try:
        addresses = transport.resolve(parts.hostname, parts.port or 443)
    except (OSError, UnicodeError, ValueError):
        return url
    for address in addresses:
        if reason := address_refusal(address):
            raise ValidationError(
                {
                    "url": _("This host resolves to %(reason)s: webhooks go to public addresses.")
                    % {"reason": reason}
                }
            )
    return url


def endpoint_set(*, user, url: str, actor=None) -> tuple[Endpoint, str | None]:
    """Set ``user``'s webhook URL. A new endpoint gets a secret, returned this once (None otherwise)."""
    url = url_validate(url)
    with transaction.atomic():
        # Two first saves at once (two tabs, a script) take turns on the user's row: the later one changes
        # the URL instead of failing on the one-webhook-per-customer constraint.
        get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk").get()
        endpoint = Endpoint.objects.select_for_update().filter(user=user).first()
        if endpoint is None:
            secret = secret_new()
            endpoint = Endpoint.objects.create(user=user, url=url, secret=secret)
            audit_record(actor=actor, verb="set", target=endpoint, changes={"url": [None, url]})
            return endpoint, secret
        if endpoint.url != url:
            audit_record(actor=actor, verb="set", target=endpoint, changes={"url": [endpoint.url, url]})
            endpoint.url = url
            endpoint.save(update_fields=["url"])
    return endpoint, None


def endpoint_rotate(*, user, actor=None) -> str:
    """A new secret for ``user``'s endpoint, returned this once; events still queued are signed with it."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(user=user)
        endpoint.secret = secret_new()
        endpoint.secret_rotated_at = timezone.now()
        endpoint.save(update_fields=["secret", "secret_rotated_at"])
        audit_record(actor=actor, verb="rotate_secret", target=endpoint, reason="New signing secret.")
    return endpoint.secret


def endpoint_remove(*, user, actor=None) -> bool:
    """Remove ``user``'s webhook, with its queued events and log."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(user=user).first()
        if endpoint is None:
            return False
        audit_record(actor=actor, verb="remove", target=endpoint, changes={"url": [endpoint.url, None]})
        endpoint.delete()
    return True


# --- events ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookEvent:
    """An event for customer ``user_id``'s endpoint: its type, its data, and what it is about (``subject``:
    an order's events go out in the order they happened)."""

    user_id: int
    event_type: str
    data: dict
    subject: str = ""


def events_queue(events: list[WebhookEvent]) -> list[Delivery]:
    """Queue each event for its customer's endpoint (none: nothing) in the caller's transaction, and start a
    sending run once it commits: one query of the endpoints and one insert however many events."""
    if not events:
        return []
    return _deliveries_queue(events, _endpoints_of({event.user_id for event in events}))


def _endpoints_of(user_ids: set[int]) -> dict[int, int]:
    """The endpoint of each of ``user_ids`` that has one."""
    return dict(Endpoint.objects.filter(user_id__in=user_ids).values_list("user_id", "pk"))


def _deliveries_queue(events: list[WebhookEvent], endpoints: dict[int, int]) -> list[Delivery]:
    now = timezone.now()
    deliveries = [
        Delivery(
            endpoint_id=endpoints[event.user_id],
            msg_id=f"msg_{uuid.uuid4().hex}",
            event_type=event.event_type,
            subject=event.subject,
            payload=json.dumps(
                {"type": event.event_type, "timestamp": now.isoformat(), "data": event.data},
                separators=(",", ":"),
            ),
            created_at=now,
            next_attempt_at=now,
        )
        for event in events
        if event.user_id in endpoints
    ]
    if deliveries:
        rows_insert(deliveries)
        _kick_after_commit()
    return deliveries


def order_event_data(order: Order) -> dict:
    """What a webhook tells of an order: API v2's status answer, and the order's id."""
    return {"order": order.pk, **status_answer(order)}


def _status_event(change) -> WebhookEvent:
    instance = change.instance
    if isinstance(instance, Refill):
        return WebhookEvent(
            user_id=instance.customer_id,
            event_type=EVENT_REFILL,
            data={"refill": instance.pk, "order": instance.order_id, "status": change.after},
            subject=f"order:{instance.order_id}",
        )
    return WebhookEvent(
        user_id=instance.user_id,
        event_type=EVENT_ORDER,
        data=order_event_data(instance),
        subject=f"order:{instance.pk}",
    )


def on_public_status_changed(sender, changes, **kwargs) -> None:
    """``reseller.states.public_status_changed``: orders' or refills' statuses as customers see them moved."""
    if sender is Refill:  # a refill's customer is its order's: one query for all of them
        prefetch_related_objects([change.instance for change in changes], "order")
    endpoints = _endpoints_of({change.instance.customer_id for change in changes})
    # Events only for customers with an endpoint: an order's status answer is work (a status sync's batch of
    # a hundred, most of them customers without one).
    _deliveries_queue(
        [_status_event(change) for change in changes if change.instance.customer_id in endpoints], endpoints
    )


def send_test_event(*, user) -> Delivery:
    """A test event for ``user``'s endpoint, sent like any other."""
    with transaction.atomic():
        deliveries = events_queue(
            [WebhookEvent(user_id=user.pk, event_type=EVENT_TEST, data={"message": "A test event."})]
        )
    if not deliveries:
        raise ValidationError("Set a webhook URL first.")
    return deliveries[0]


def _kick_after_commit() -> None:
    """One sending run per transaction however many events it queued (a status sync moves a hundred
    orders in one); the periodic sweep starts one for anything a lost message left behind."""
    connection = transaction.get_connection()
    if any(entry[1] is _kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick)


def _kick() -> None:
    from webhooks.tasks import deliver_webhooks

    try:
        deliver_webhooks.delay()
    except Exception:  # the broker is down: the sweep starts a run later
        logger.exception("Could not queue a webhook run; the sweep will")


# --- sending ---------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from the base, capped, with
    ±20 % jitter so that many events failed at once do not all come back at once."""
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 30)
    return min(base, settings.WEBHOOKS_RETRY_CAP_SECONDS) * random.uniform(0.8, 1.2)


def signed_headers(*, secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``body``."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "reseller-panel-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=msg_id, timestamp=at.astimezone(UTC), data=body),
    }


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    at: datetime
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    reached: bool = True  # the receiver answered (a failed answer is still an answer)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _attempt(delivery: Delivery, secret: str, url: str) -> Attempt:
    at = timezone.now()
    headers = signed_headers(secret=secret, msg_id=delivery.msg_id, body=delivery.payload, at=at)
    try:
        answer = safe_post(url, body=delivery.payload.encode(), headers=headers)
    except TargetRefused as refused:
        return Attempt(delivery.pk, at, error=str(refused)[:200], reached=False)
    except (requests.Timeout, TimeoutError):
        return Attempt(delivery.pk, at, error="No answer in time.", reached=False)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        # Our own words: requests' exceptions quote the request.
        return Attempt(delivery.pk, at, error="Could not connect or the connection broke.", reached=False)
    error = ""
    if 300 <= answer.status_code < 400:
        error = "Redirects are not followed: answer with 2xx."
    elif not 200 <= answer.status_code < 300:
        error = f"The receiver answered HTTP {answer.status_code}."
    return Attempt(delivery.pk, at, status_code=answer.status_code, excerpt=answer.excerpt, error=error)


def _send_to_endpoint(endpoint: Endpoint, deliveries: list[Delivery]) -> tuple[list[Attempt], list[int]]:
    """Send ``deliveries`` (one endpoint's) one after another. Once the endpoint cannot be reached, the rest
    are not tried in this run (the ids returned): they would only wait for the same timeout."""
    attempts = []
    for n, delivery in enumerate(deliveries):
        attempt = _attempt(delivery, endpoint.secret, endpoint.url)
        attempts.append(attempt)
        if not attempt.reached:
            return attempts, [later.pk for later in deliveries[n + 1 :]]
    return attempts, []


def _record(attempt: Attempt, delivery: Delivery) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = attempt.at
    delivery.response_code = attempt.status_code
    delivery.response_excerpt = attempt.excerpt
    delivery.error = attempt.error
    if attempt.delivered:
        delivery.status = Delivery.Status.DELIVERED
    elif attempt.at - delivery.created_at >= timedelta(hours=settings.WEBHOOKS_RETRY_HOURS):
        delivery.status = Delivery.Status.FAILED
    else:
        delivery.next_attempt_at = attempt.at + timedelta(seconds=retry_delay(delivery.attempts))
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "response_code",
            "response_excerpt",
            "error",
            "status",
            "next_attempt_at",
        ]
    )


def due_deliveries(*, now: datetime, limit: int) -> list[Delivery]:
    """Pending events due by ``now``, oldest first: of each order's, only the earliest undelivered one (the
    next follows once it is delivered or failed)."""
    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        subject=OuterRef("subject"),
        status=Delivery.Status.PENDING,
        pk__lt=OuterRef("pk"),
    )
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(subject="") | ~Exists(earlier))
        .select_related("endpoint")
        .order_by("next_attempt_at", "pk")[:limit]
    )


def deliveries_send_due(*, now: datetime | None = None, keep_lease=lambda: True) -> int:
    """Send one batch of due events, up to ``WEBHOOKS_CONCURRENCY`` endpoints at once (threads only talk
    HTTP; every write happens here). Returns how many events the batch held: 0 when nothing is due."""
    batch = due_deliveries(now=now or timezone.now(), limit=settings.WEBHOOKS_BATCH)
    by_endpoint: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in batch:
        by_endpoint[delivery.endpoint_id].append(delivery)
    by_id = {delivery.pk: delivery for delivery in batch}
    with ThreadPoolExecutor(max_workers=settings.WEBHOOKS_CONCURRENCY) as pool:
        futures = [pool.submit(_send_to_endpoint, group[0].endpoint, group) for group in by_endpoint.values()]
        for future in futures:
            attempts, not_tried = future.result()
            for attempt in attempts:
                _record(attempt, by_id[attempt.delivery_id])
            if not_tried:  # the endpoint's next run: when its failed event is tried again
                Delivery.objects.filter(pk__in=not_tried).update(
                    next_attempt_at=by_id[attempts[-1].delivery_id].next_attempt_at
                )
            if not keep_lease():
                break
    return len(batch)


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Forget delivered and failed events older than ``WEBHOOKS_LOG_DAYS`` (pending ones are kept)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_LOG_DAYS)
    deleted, _ = (
        Delivery.objects.filter(created_at__lt=cutoff).exclude(status=Delivery.Status.PENDING).delete()
    )
    return deleted
