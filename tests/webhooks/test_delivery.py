"""Customers' webhooks: written with the status change (outbox), signed per Standard Webhooks, retried with
backoff for a day, in order per order, logged for the customer."""

import itertools
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api.v2_actions import status_answer
from orders.models import Order, Refill
from reseller.states import transition
from tests.builders import order_in
from tests.webhooks.support import hook_for
from webhooks.models import Delivery, Endpoint
from webhooks.services import deliveries_send_due, retry_delay, send_test_event

pytestmark = pytest.mark.django_db(transaction=True)

LATER = timedelta(days=2)


@pytest.fixture
def pending_order(on_sale, customer):
    service = on_sale()

    def make(**fields):
        return order_in(
            Order.Status.PENDING, user=customer, service=service, provider_order_id=None, **fields
        )

    return make


def move(order: Order, to: str) -> None:
    with transaction.atomic():
        transition(order, to, message="The provider reports it.")


def send_all(now=None) -> None:
    while deliveries_send_due(now=now or timezone.now()):
        pass


def test_a_status_change_is_posted_signed_with_the_status_answer(receiver, customer, pending_order):
    _, secret = hook_for(customer, receiver.url)
    order = pending_order()
    move(order, Order.Status.IN_PROGRESS)

    send_all()

    [request] = receiver.received
    # The receiver's side of the Standard: the library's own verifier accepts it.
    payload = Webhook(secret).verify(request.body, request.headers)
    order.refresh_from_db()
    assert payload["type"] == "order.status_changed"
    assert payload["data"] == {"order": order.pk, **status_answer(order)}
    assert payload["data"]["status"] == "In progress"
    assert request.headers["webhook-id"].startswith("msg_")
    # Another secret does not verify it.
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)


def test_the_event_is_written_in_the_changes_transaction(customer, pending_order, receiver):
    hook_for(customer, receiver.url)
    order = pending_order()
    seen = []

    def move_then_fail():
        with transaction.atomic():
            transition(order, Order.Status.IN_PROGRESS, message="x")
            seen.append(Delivery.objects.count())  # with the move, before anything is sent
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        move_then_fail()
    assert seen == [1]
    assert not Delivery.objects.exists()  # a move rolled back tells nobody


def test_no_webhook_no_event_and_no_visible_change_no_event(customer, pending_order, receiver):
    order = pending_order()
    move(order, Order.Status.IN_PROGRESS)
    assert not Delivery.objects.exists()
    hook_for(customer, receiver.url)
    order.refresh_from_db()
    move(order, Order.Status.PROCESSING)
    assert Delivery.objects.count() == 1


def test_a_refill_change_is_an_event_of_its_order(customer, pending_order, receiver):
    _, secret = hook_for(customer, receiver.url)
    order = pending_order()
    refill = Refill.objects.create(order=order, status=Refill.Status.PENDING)
    with transaction.atomic():
        transition(refill, Refill.Status.COMPLETED, message="done")
    send_all()
    payload = Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert payload["type"] == "refill.status_changed"
    assert payload["data"] == {"refill": refill.pk, "order": order.pk, "status": "Completed"}
    assert Delivery.objects.get().subject == f"order:{order.pk}"


def test_failures_are_retried_with_growing_pauses_then_delivered(customer, pending_order, receiver):
    _, secret = hook_for(customer, receiver.url)
    receiver.answer((500, "database down", {}), (500, "still down", {}), (503, "", {}), 200)
    move(pending_order(), Order.Status.IN_PROGRESS)

    pauses = []
    for answered in (500, 500, 503):
        send_all()
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.response_code) == ("pending", answered)
        pauses.append(delivery.next_attempt_at - delivery.last_attempt_at)
        assert not deliveries_send_due(now=timezone.now())  # not due before its time
        send_all(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
        if delivery.status == "delivered":
            break
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    assert pauses[0] < pauses[1] < pauses[2]  # exponential, jitter and all
    assert "still down" not in delivery.response_excerpt  # the last answer's
    # Each attempt was signed afresh, always the same message id (receivers deduplicate by it).
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    for request in receiver.received:
        Webhook(secret).verify(request.body, request.headers)


def test_the_backoff_doubles_with_jitter_up_to_its_cap(settings):
    settings.WEBHOOKS_RETRY_BASE_SECONDS, settings.WEBHOOKS_RETRY_CAP_SECONDS = 30, 3600
    delays = [retry_delay(n) for n in range(1, 8)]
    assert all(a < b for a, b in itertools.pairwise(delays))
    assert 24 <= delays[0] <= 36 and delays[-1] <= 3600 * 1.2
    assert len({round(retry_delay(3), 6) for _ in range(20)}) > 1  # jittered


def test_after_24_hours_an_undelivered_event_is_failed(customer, pending_order, receiver):
    hook_for(customer, receiver.url)
    receiver.answer(500)
    move(pending_order(), Order.Status.IN_PROGRESS)
    send_all()
    assert Delivery.objects.get().status == "pending"
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    send_all(now=timezone.now() + LATER)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert not deliveries_send_due(now=timezone.now() + LATER * 10)


def test_an_orders_later_event_waits_for_its_earlier_one(customer, pending_order, receiver):
    _, secret = hook_for(customer, receiver.url)
    first, other = pending_order(), pending_order()
    receiver.answer(500, 200)
    move(first, Order.Status.IN_PROGRESS)
    first.refresh_from_db()
    move(first, Order.Status.COMPLETED)
    move(other, Order.Status.IN_PROGRESS)

    send_all()  # the first event fails; the second of that order waits; the other order's goes
    statuses = [(d.subject, d.status) for d in Delivery.objects.order_by("pk")]
    assert statuses == [
        (f"order:{first.pk}", "pending"),
        (f"order:{first.pk}", "pending"),
        (f"order:{other.pk}", "delivered"),
    ]
    assert Delivery.objects.order_by("pk")[1].attempts == 0

    send_all(now=timezone.now() + LATER)
    seen = [
        Webhook(secret).verify(r.body, r.headers)["data"]
        for r in receiver.received
        if r.body and json.loads(r.body)["data"]["order"] == first.pk
    ]
    assert [data["status"] for data in seen] == ["In progress", "In progress", "Completed"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_subscriptions_pause_without_a_transition_is_an_event(on_sale, customer, receiver):
    from orders.services import _apply_batch
    from panels.client import order_status_parse

    _, secret = hook_for(customer, receiver.url)
    order = order_in(
        Order.Status.IN_PROGRESS,
        user=customer,
        service=on_sale("Subscriptions"),
        provider_order_id="77",
        provider_status="Active",
    )
    with transaction.atomic():  # a batch's transaction is its caller's (the sync's worker)
        _apply_batch({order.pk: "77"}, {"77": order_status_parse({"status": "Paused", "posts": "0"})})
    send_all()
    payload = Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert payload["data"]["status"] == "Paused"
    order.refresh_from_db()
    assert order.provider_status == "Paused" and order.status == Order.Status.IN_PROGRESS


def test_the_test_event_and_the_page(client, customer, receiver):
    client.force_login(customer)
    page = client.get("/account/api/")
    assert b"/account/api/webhook/" in page.content

    made = client.post("/account/api/webhook/", {"action": "save", "url": receiver.url})
    secret = Endpoint.objects.get(user=customer).secret
    assert secret.startswith("whsec_") and secret.encode() in made.content  # shown this once
    again = client.get("/account/api/webhook/")
    assert secret.encode() not in again.content and receiver.url.encode() in again.content

    client.post("/account/api/webhook/", {"action": "test"})
    send_all()
    payload = Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert payload["type"] == "test"
    log = client.get("/account/api/webhook/").content.decode()
    assert "test" in log and Delivery.objects.get().msg_id in log and ">200<" in log

    rotated = client.post("/account/api/webhook/", {"action": "rotate"})
    new_secret = Endpoint.objects.get(user=customer).secret
    assert new_secret != secret and new_secret.encode() in rotated.content
    assert new_secret.encode() not in client.get("/account/api/webhook/").content


def test_a_customer_sees_only_their_own_deliveries(client, customer, receiver):
    other = User.objects.create_user("eve")
    hook_for(customer, receiver.url)
    hook_for(other, receiver.url + "/eve")
    mine = send_test_event(user=customer)
    theirs = send_test_event(user=other)
    client.force_login(customer)
    page = client.get("/account/api/webhook/").content.decode()
    assert mine.msg_id in page and theirs.msg_id not in page
    listed = client.get("/api/v1/webhook/deliveries/").json()
    assert [row["msg_id"] for row in listed["results"]] == [mine.msg_id]


def test_the_rest_api_shows_the_secret_once(client, customer, receiver):
    client.force_login(customer)
    made = client.put("/api/v1/webhook/", {"url": receiver.url}, content_type="application/json")
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    shown = client.get("/api/v1/webhook/").json()
    assert shown["url"] == receiver.url and "secret" not in shown
    changed = client.put("/api/v1/webhook/", {"url": receiver.url + "/2"}, content_type="application/json")
    assert changed.status_code == 200 and "secret" not in changed.json()
    rotated = client.post("/api/v1/webhook/rotate/").json()
    assert rotated["secret"] != made.json()["secret"]
    assert client.post("/api/v1/webhook/test/").status_code == 202
    assert client.delete("/api/v1/webhook/").status_code == 204
    assert client.get("/api/v1/webhook/").status_code == 404


def test_a_refused_url_is_a_form_error(client, customer, settings):
    settings.WEBHOOKS_ALLOW_HTTP = False
    client.force_login(customer)
    page = client.post("/account/api/webhook/", {"action": "save", "url": "http://hooks.example/x"})
    assert b"must start with https://" in page.content
    answer = client.put("/api/v1/webhook/", {"url": "ftp://hooks.example/"}, content_type="application/json")
    assert answer.status_code == 400


def test_operators_changes_are_audited(operator_client, customer, receiver):
    from audit.models import AuditEntry

    endpoint, _ = hook_for(customer, receiver.url)
    for action in ("rotate_secret", "remove"):
        operator_client.post(
            "/admin/webhooks/endpoint/", {"action": action, "_selected_action": [endpoint.pk]}
        )
    verbs = list(
        AuditEntry.objects.filter(actor__username="boss").order_by("pk").values_list("action", flat=True)
    )
    assert verbs == ["webhooks.endpoint.rotate_secret", "webhooks.endpoint.remove"]
    assert not Endpoint.objects.filter(user=customer).exists()


def test_one_sending_run_is_queued_per_transaction(customer, pending_order, receiver, published):
    hook_for(customer, receiver.url)
    orders = [pending_order() for _ in range(3)]
    published.clear()  # placing them queued their dispatch
    with transaction.atomic():
        for order in orders:
            transition(order, Order.Status.IN_PROGRESS, message="x")
    assert Delivery.objects.count() == 3
    assert [p.task for p in published] == ["webhooks.tasks.deliver_webhooks"]


def test_old_finished_events_are_pruned_pending_ones_kept(customer, receiver):
    from webhooks.services import deliveries_prune

    hook_for(customer, receiver.url)
    kept, pruned, waiting = (send_test_event(user=customer) for _ in range(3))
    Delivery.objects.filter(pk=pruned.pk).update(
        status="delivered", created_at=timezone.now() - timedelta(days=31)
    )
    Delivery.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=31))
    Delivery.objects.filter(pk=kept.pk).update(status="failed")
    assert deliveries_prune() == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {kept.pk, waiting.pk}


def test_the_task_sends_an_orders_events_in_turn_and_the_sweep_queues_it_when_due(
    customer, pending_order, receiver, published
):
    from webhooks.tasks import deliver_webhooks, sweep_webhooks

    _, secret = hook_for(customer, receiver.url)
    order = pending_order()
    for to in (Order.Status.IN_PROGRESS, Order.Status.PROCESSING, Order.Status.COMPLETED):
        move(order, to)
        order.refresh_from_db()
    published.clear()
    sweep_webhooks()
    assert [p.task for p in published] == ["webhooks.tasks.deliver_webhooks"]

    deliver_webhooks()  # one run: batch after batch until nothing is due
    statuses = [Webhook(secret).verify(r.body, r.headers)["data"]["status"] for r in receiver.received]
    assert statuses == ["In progress", "Processing", "Completed"]
    published.clear()
    sweep_webhooks()
    assert published == []  # nothing due: no run queued
