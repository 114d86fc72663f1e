"""When a provider is another panel of this software: register this panel's webhook there, and apply what
its signed webhooks say the moment they arrive. Polling stays the fallback: a missed webhook costs at most
one status-sync interval."""

import binascii
import json
import logging

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from orders.models import Order
from orders.services import OPEN_UPSTREAM, SYNCED_FIELDS, order_apply_status
from panels.client import order_status_parse
from panels.models import Provider
from webhooks.models import UpstreamWebhook
from webhooks.services import EVENT_ORDER

logger = logging.getLogger(__name__)

TIMEOUTS = (5, 15)


class RegistrationFailed(Exception):
    """The upstream panel did not take our webhook. The message is safe to show (no key in it)."""


class WebhookRefused(Exception):
    """A webhook that is not from the provider (bad or missing signature, replayed) or not readable."""


def receiving_url(provider: Provider) -> str:
    if not settings.PANEL_URL:
        raise RegistrationFailed("Set PANEL_URL (this panel's address) first: the provider calls it.")
    return settings.PANEL_URL + reverse("webhooks:upstream", args=[provider.pk])


def _rest_base(provider: Provider) -> str:
    """The upstream's REST API beside its API v2 (``…/api/v2`` → ``…/api/v1``)."""
    base = provider.api_url.rstrip("/")
    if not base.endswith("/api/v2"):
        raise RegistrationFailed(
            "The provider's URL does not end in /api/v2: it is not a panel like this one."
        )
    return base[: -len("/api/v2")] + "/api/v1"


def upstream_register(*, provider: Provider, actor=None) -> UpstreamWebhook:
    """Set our webhook URL at ``provider`` (with our API key there) and keep the secret it answers, under a
    new secret each time (a secret we never saw cannot verify anything)."""
    from audit.services import audit_record

    url = receiving_url(provider)
    base = _rest_base(provider)
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {provider.api_key}"
    try:
        answer = session.put(f"{base}/webhook/", json={"url": url}, timeout=TIMEOUTS, allow_redirects=False)
        if answer.status_code in (200, 201) and not answer.json().get("secret"):
            answer = session.post(f"{base}/webhook/rotate/", timeout=TIMEOUTS, allow_redirects=False)
        secret = answer.json().get("secret") if answer.status_code in (200, 201) else None
    except (requests.RequestException, ValueError, AttributeError):
        raise RegistrationFailed("The provider could not be reached or did not answer as a panel.") from None
    finally:
        session.close()
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        raise RegistrationFailed(f"The provider refused the webhook (HTTP {answer.status_code}).")
    with transaction.atomic():
        hook, _ = UpstreamWebhook.objects.update_or_create(
            provider=provider, defaults={"url": url, "secret": secret, "registered_at": timezone.now()}
        )
        audit_record(actor=actor, verb="register_webhook", target=provider, reason=f"Webhook {url}.")
    return hook


def upstream_receive(*, provider_id: int, body: bytes, headers: dict[str, str]) -> bool:
    """Verify a webhook from ``provider_id``'s panel and apply it: an order's status through the status
    sync's own ``order_apply_status``, under the row lock. True when an order of ours changed.
    Raises ``WebhookRefused``."""
    # An id no row can have (the address takes any digits) is refused before the database sees it.
    hook = UpstreamWebhook.objects.filter(provider_id=provider_id).first() if provider_id < 2**63 else None
    if hook is None:
        raise WebhookRefused("No webhook is registered for this provider.")
    try:
        # Checks the signature and the timestamp (within five minutes: an old message replayed is refused).
        event = Webhook(hook.secret).verify(body, headers)
    except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookRefused("The signature does not verify.") from None
    UpstreamWebhook.objects.filter(pk=hook.pk).update(last_received_at=timezone.now())
    if (
        not isinstance(event, dict)
        or event.get("type") != EVENT_ORDER
        or not isinstance(event.get("data"), dict)
    ):
        return False  # a test event, or news of a refill: the refill sync polls those
    data = event["data"]
    remote = order_status_parse(data)
    if remote is None or not isinstance(data.get("order"), int | str):
        return False
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(provider_id=provider_id, provider_order_id=str(data["order"]), status__in=OPEN_UPSTREAM)
            .first()
        )
        if order is None:
            return False  # not ours, or finished already
        before = [getattr(order, name) for name in SYNCED_FIELDS]
        moved = order_apply_status(order=order, remote=remote)
        order.last_synced_at = timezone.now()
        if not moved and [getattr(order, name) for name in SYNCED_FIELDS] != before:
            order.save(update_fields=[*SYNCED_FIELDS, "last_synced_at"])
        else:
            Order.objects.filter(pk=order.pk).update(last_synced_at=order.last_synced_at)
    return moved
