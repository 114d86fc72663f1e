"""A provider that is another panel of this software: our webhook registered there with our key, and its
signed webhooks applied to our orders at once (bad signatures and replays refused)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from api.services import api_key_issue
from orders.models import Order
from panels.services import provider_upsert
from tests.builders import order_in
from webhooks.models import Endpoint, UpstreamWebhook
from webhooks.services import secret_new, signed_headers
from webhooks.upstream import upstream_register

SECRET = secret_new()


@pytest.fixture
def upstream_order(on_sale, customer):
    """Our order, sent to the provider as its order 555, and the provider's webhook secret known to us."""
    service = on_sale()
    order = order_in(Order.Status.PENDING, user=customer, service=service, provider_order_id="555")
    UpstreamWebhook.objects.create(provider=order.provider, url="https://us.example/", secret=SECRET)
    return order


def post(client, provider_id, event, *, secret=SECRET, at=None, tamper=False):
    body = json.dumps(event)
    headers = signed_headers(secret=secret, msg_id="msg_1", body=body, at=at or datetime.now(UTC))
    if tamper:
        body = body.replace("Completed", "Canceled")
    return client.post(
        f"/webhooks/provider/{provider_id}/",
        body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k.startswith("webhook-")},
    )


def completed(order_id="555", **fields):
    data = {"order": order_id, "charge": "1.5", "start_count": "10", "status": "Completed", "remains": "0",
            "currency": "USD", **fields}  # fmt: skip
    return {"type": "order.status_changed", "timestamp": "", "data": data}


@pytest.mark.django_db
def test_a_signed_webhook_updates_the_order_at_once(client, upstream_order):
    answer = post(client, upstream_order.provider_id, completed())
    assert answer.status_code == 204
    upstream_order.refresh_from_db()
    assert upstream_order.status == Order.Status.COMPLETED
    assert (upstream_order.provider_status, upstream_order.start_count, upstream_order.remains) == (
        "Completed",
        10,
        0,
    )
    assert upstream_order.events.filter(to_status=Order.Status.COMPLETED).exists()  # the sync's own move
    assert UpstreamWebhook.objects.get().last_received_at is not None


@pytest.mark.django_db
def test_a_partial_is_refunded_as_the_sync_refunds_it(client, upstream_order):
    post(
        client,
        upstream_order.provider_id,
        completed(status="Partial", remains=str(upstream_order.units // 2)),
    )
    upstream_order.refresh_from_db()
    assert upstream_order.status == Order.Status.PARTIAL and upstream_order.refunded > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    [
        {"tamper": True},
        {"secret": secret_new()},
        {"at": -timedelta(minutes=10)},  # a replay of an old message
        {"at": timedelta(minutes=10)},
    ],
)
def test_bad_signatures_and_replays_are_refused(client, upstream_order, how):
    if "at" in how:  # when the test runs, not when it was collected: a long run would age it
        how = {"at": datetime.now(UTC) + how["at"]}
    answer = post(client, upstream_order.provider_id, completed(), **how)
    assert answer.status_code == 400
    upstream_order.refresh_from_db()
    assert upstream_order.status == Order.Status.PENDING


@pytest.mark.django_db
def test_unsigned_and_unknown_providers_are_refused(client, upstream_order):
    assert (
        client.post(f"/webhooks/provider/{upstream_order.provider_id}/", "{}", "application/json").status_code
        == 400
    )
    assert post(client, upstream_order.provider_id + 99, completed()).status_code == 400


@pytest.mark.django_db
def test_only_that_providers_order_is_touched(client, upstream_order):
    other, _ = provider_upsert(
        name="Other", api_url="http://127.0.0.1:9/api/v2", api_key="other-key-0123456789"
    )
    Order.objects.filter(pk=upstream_order.pk).update(provider=other)
    assert post(client, upstream_order.provider_id, completed()).status_code == 204
    upstream_order.refresh_from_db()
    assert upstream_order.status == Order.Status.PENDING


def test_registering_our_webhook_at_the_upstream_panel(live_server, settings, transactional_db):
    """Here the upstream panel is this very server: we register with our customer key there, as panel B
    does at panel A."""
    settings.PANEL_URL = "https://panel-b.example"
    reseller = User.objects.create_user("panel-b")
    _, key = api_key_issue(user=reseller)
    provider, _ = provider_upsert(name="Panel A", api_url=f"{live_server.url}/api/v2", api_key=key)

    hook = upstream_register(provider=provider)
    endpoint = Endpoint.objects.get(user=reseller)
    assert endpoint.url == hook.url == f"https://panel-b.example/webhooks/provider/{provider.pk}/"
    assert hook.secret == endpoint.secret

    again = upstream_register(provider=provider)  # registering again rotates: the secret we keep is live
    endpoint.refresh_from_db()
    assert again.secret == endpoint.secret != hook.secret
    assert UpstreamWebhook.objects.count() == 1
