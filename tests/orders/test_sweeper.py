"""The sweeper queues a send again only when its task is lost: sweeping never grows a backlog (issue 19)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from orders.models import Order
from orders.services import order_place, order_submit, orders_sweep
from orders.tasks import submit_order
from tests.orders.support import data_for

S = Order.Status
BACKLOG = 30


def submitted(published) -> list[int]:
    """The ids of the submit tasks that reached the broker, in order."""
    return [args[0] for task, _, args in published if task == submit_order.name]


@pytest.fixture
def place(on_sale, customer, django_capture_on_commit_callbacks):
    """Place orders as a customer does, their submit tasks queued on commit (to a provider nobody answers
    at: nothing here sends)."""
    service = on_sale()

    def make(count=1):
        with django_capture_on_commit_callbacks(execute=True):
            return [
                order_place(
                    user=customer, service=service, data=data_for(service, link=f"https://x.example/{n}")
                )
                for n in range(count)
            ]

    return make


def sweep_every_minute(start, minutes):
    now = timezone.now()
    return sum(
        orders_sweep(now=now + timedelta(minutes=m))["requeued"] for m in range(start, start + minutes)
    )


def test_a_backlog_of_n_orders_is_queued_at_most_n_times_however_often_the_sweeper_runs(place, published):
    orders = place(BACKLOG)
    assert Counter(submitted(published)) == {order.pk: 1 for order in orders}

    # Nobody picks them up for a quarter of an hour (a provider's limit, a busy worker): sweeping every
    # minute queues nothing more, since each order's task may still be waiting in the broker.
    assert sweep_every_minute(0, 15) == 0
    assert len(submitted(published)) == BACKLOG

    # Past the grace each task is taken as lost and queued again — once: each re-queue moves the stamp.
    assert sweep_every_minute(16, 15) == BACKLOG
    assert Counter(submitted(published)) == {order.pk: 2 for order in orders}


def test_an_order_whose_task_is_lost_is_queued_again_exactly_once(place, published):
    lost, live = place(2)
    Order.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=20))

    assert sweep_every_minute(0, 10) == 1

    assert Counter(submitted(published)) == {lost.pk: 2, live.pk: 1}


def test_an_order_placed_while_the_broker_is_down_is_queued_by_the_next_sweep(place, published, monkeypatch):
    def broker_down(*args):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(submit_order, "delay", broker_down)
    (order,) = place()  # the customer's request succeeds: the money moved, the order is recorded
    monkeypatch.undo()
    order.refresh_from_db()
    assert (order.status, order.next_attempt_at) == (S.QUEUED, None)  # no task is known

    assert sweep_every_minute(0, 10) == 1
    assert submitted(published) == [order.pk]


def test_a_retry_waiting_for_its_countdown_is_not_doubled(place, published):
    (order,) = place()
    published.clear()

    submit_order(order.pk)  # the provider does not answer: back to waiting, retried by a countdown task

    order.refresh_from_db()
    assert order.status == S.WAITING
    assert submitted(published) == [order.pk]
    due_in = (order.next_attempt_at - timezone.now()).total_seconds()
    assert 25 < due_in <= 30  # the first backoff
    assert sweep_every_minute(0, 15) == 0
    assert sweep_every_minute(16, 5) == 1  # the countdown task was lost


def test_a_duplicate_that_still_arrives_is_harmless(place, published):
    (order,) = place()
    Order.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=20))
    assert sweep_every_minute(0, 1) == 1  # it was only slow: two tasks now wait for the one order
    Order.objects.filter(pk=order.pk).update(status=S.PENDING, provider_order_id="77")  # the first sent it

    assert order_submit(order_id=order.pk) is None  # the second finds it claimed
    order.refresh_from_db()
    assert (order.status, order.send_attempts) == (S.PENDING, 0)


def test_a_retry_at_a_disabled_provider_waits_again_with_its_countdown(place, published):
    (order,) = place()
    order.provider.enabled = False
    order.provider.save()
    published.clear()

    submit_order(order.pk)
    submit_order(order.pk)  # its countdown task: the provider is still disabled

    order.refresh_from_db()
    assert order.status == S.WAITING
    assert submitted(published) == [
        order.pk,
        order.pk,
    ]  # each time queued again by its countdown, never by the sweeper
    assert 295 < (order.next_attempt_at - timezone.now()).total_seconds() <= 300
    assert order.events.filter(to_status=S.WAITING).count() == 1
    assert sweep_every_minute(0, 15) == 0
