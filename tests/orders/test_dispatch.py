"""The per-provider dispatcher (issue 18): due orders go out oldest first at the provider's pace, and nothing
waits for a provider — a spent budget or a slow provider ends the run, which asks to come back later."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from orders.dispatch import (
    SOON_SECONDS,
    LimitedBy,
    dispatch_due,
    dispatch_run_ended,
    dispatch_run_started,
    due_orders,
    next_run_in,
    orders_dispatch,
)
from orders.models import Order
from orders.services import order_place, order_submit, orders_sweep
from orders.tasks import dispatch_orders
from panels.models import ProviderCall
from panels.ratelimit import ProviderBudget
from reseller.locks import exclusive
from tests.orders.support import data_for, service_of

S = Order.Status


def kicks(published) -> Counter:
    """The dispatcher runs that reached the broker, by provider."""
    return Counter(args[0] for task, _, args in published if task == dispatch_orders.name)


@pytest.fixture
def placing(customer, django_capture_on_commit_callbacks):
    """Place ``count`` orders of ``service`` as a customer does (their dispatcher kicked on commit)."""

    fresh = set()

    def place(service, count=1):
        if (provider_id := service.provider_service.provider_id) not in fresh:
            dispatch_run_ended(provider_id)  # no kick of an earlier test's pending (provider ids repeat)
            fresh.add(provider_id)
        with django_capture_on_commit_callbacks(execute=True):
            return [
                order_place(
                    user=customer, service=service, data=data_for(service, link=f"https://x.example/{n}")
                )
                for n in range(count)
            ]

    return place


# --- kicks: one per provider in the broker, whatever the burst ----------------------------------------


def test_a_burst_of_orders_queues_one_run_of_its_providers_dispatcher(on_sale, placing, published):
    service = on_sale()
    provider_id = service.provider_service.provider_id
    placing(service, 30)
    assert kicks(published) == {provider_id: 1}  # one message, not thirty in front of everyone else's

    dispatch_run_started(provider_id)  # the run it started takes them, and any placed while it goes
    placing(service, 5)
    assert kicks(published) == {provider_id: 1}
    dispatch_run_ended(provider_id)  # it let the provider go: it may have looked before the next one
    placing(service, 1)
    assert kicks(published) == {provider_id: 2}


def test_an_order_placed_while_the_broker_is_down_is_sent_after_the_next_sweep(
    on_sale, placing, published, monkeypatch
):
    service = on_sale()

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(dispatch_orders, "apply_async", broker_down)
    (order,) = placing(service)  # the customer's request succeeds: the money moved, the order is recorded
    monkeypatch.undo()
    assert kicks(published) == {}
    order.refresh_from_db()
    assert order.status == S.QUEUED and order.next_attempt_at <= timezone.now()

    assert dispatch_due() == 1  # due now: kicked (nothing was pending, the failed kick left no mark)
    assert kicks(published) == {order.provider_id: 1}


def test_the_sweeper_forces_a_kick_only_once_orders_are_a_grace_late(on_sale, placing, published):
    service = on_sale()
    (order,) = placing(service)
    published.clear()

    assert dispatch_due() == 0  # a kick is pending and the order is not late: nothing doubled
    later = timezone.now() + timedelta(minutes=2)
    assert dispatch_due(now=later) == 1  # the pending kick may be lost with a worker: one more
    assert dispatch_due(now=later + timedelta(minutes=1)) == 1  # one a sweep per provider, never per order
    assert kicks(published) == {order.provider_id: 2}


# --- a run ----------------------------------------------------------------------------------------------


def test_a_run_sends_the_due_orders_oldest_first_and_settles_each(shop, placing):
    server, provider = shop()
    provider.send_concurrency = 1  # one call at a time: the provider sees them in the order they were sent
    provider.save()
    service = service_of(provider, "Default")
    orders = placing(service, 6)
    Order.objects.filter(pk=orders[0].pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    run = orders_dispatch(provider=provider)

    assert (run.sent, run.again_in, run.limited_by) == (5, None, "")
    statuses = dict(Order.objects.filter(provider=provider).values_list("pk", "status"))
    assert statuses == {orders[0].pk: S.QUEUED} | {order.pk: S.PENDING for order in orders[1:]}
    sent_links = [order.link for order in server.sim.orders()]
    assert sent_links == [order.link for order in orders[1:]]  # in the order they were placed
    assert ProviderCall.objects.filter(provider=provider, action="add").count() == 5  # each call logged
    assert next_run_in(provider.pk, run) is None  # the one left is due in 5 minutes: the sweeper's


def test_a_spent_budget_ends_the_run_and_keeps_a_tenth_for_follow_up_calls(shop, placing):
    _, provider = shop()
    provider.calls_per_minute = 10  # 9 for sending, 1 kept for status syncs, refills, cancels
    provider.save()
    service = service_of(provider, "Default")
    orders = placing(service, 12)

    started = time.monotonic()
    run = orders_dispatch(provider=provider)

    assert time.monotonic() - started < 5  # it never waited for a slot
    assert (run.sent, run.limited_by) == (9, LimitedBy.RATE_LIMIT)
    assert 50 < run.again_in <= 60  # when the first slot of the window frees up
    assert next_run_in(provider.pk, run) == run.again_in
    waiting = Order.objects.filter(pk__in=[order.pk for order in orders[9:]])
    assert set(waiting.values_list("status", "send_attempts")) == {(S.QUEUED, 0)}  # not claimed, no attempt
    assert all(order.events.count() == 1 for order in waiting)  # "Placed" only: no event per refusal
    budget = ProviderBudget(provider.pk, provider.calls_per_minute)
    assert budget.left() == 1 and budget.take() == 0  # the kept call: a status sync still gets it
    assert budget.take() > 0


def test_a_slow_provider_holds_no_more_calls_than_its_orders_sent_at_once(shop, placing, monkeypatch):
    server, provider = shop()
    provider.send_concurrency = 2
    provider.save()
    service = service_of(provider, "Default")
    placing(service, 5)
    server.sim.set_fault("slow", action="add", delay=0.5)
    in_flight = peak = 0
    guard = threading.Lock()
    real_handle = server.sim.handle

    def counting(*args, **kwargs):
        nonlocal in_flight, peak
        with guard:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return real_handle(*args, **kwargs)
        finally:
            with guard:
                in_flight -= 1

    server.sim.handle = counting
    monkeypatch.setattr("orders.dispatch.SLICE_SECONDS", 0.8)
    run = orders_dispatch(provider=provider)

    # Two at a time, half a second each: the slice ends after the second pair, and the run gives its worker
    # thread back with the fifth order due, to come back at once (behind whatever else is queued).
    assert (run.sent, peak) == (4, 2)
    assert (run.again_in, run.limited_by) == (0, LimitedBy.SLOWNESS)
    assert orders_dispatch(provider=provider).sent == 1


def test_a_run_asks_to_come_back_for_a_retry_due_soon(shop, placing, unused_tcp_port):
    _, provider = shop()
    service = service_of(provider, "Default")
    (order,) = placing(service)
    provider.api_url = f"http://127.0.0.1:{unused_tcp_port}/api/v2"  # nobody answers: nothing sent
    provider.save()

    run = orders_dispatch(provider=provider)

    order.refresh_from_db()
    assert order.status == S.WAITING and order.send_attempts == 1
    assert 25 < next_run_in(provider.pk, run) <= 30 < SOON_SECONDS  # the first backoff


def test_a_disabled_providers_due_orders_wait_without_a_call(shop, placing):
    server, provider = shop()
    service = service_of(provider, "Default")
    (order,) = placing(service)
    provider.enabled = False
    provider.save()

    assert orders_dispatch(provider=provider).sent == 0
    orders_dispatch(provider=provider)  # a second run finds nothing due

    order.refresh_from_db()
    assert order.status == S.WAITING and "disabled" in order.wait_reason
    assert 295 < (order.next_attempt_at - timezone.now()).total_seconds() <= 300
    assert order.events.filter(to_status=S.WAITING).count() == 1
    assert not server.sim.orders()
    assert not due_orders(provider.pk).exists()


def test_a_run_is_one_at_a_time_per_provider(shop, placing):
    server, provider = shop()
    service = service_of(provider, "Default")
    placing(service, 3)
    with exclusive(f"dispatch:{provider.pk}", lease=60):
        dispatch_orders(provider.pk)  # another run holds the provider: this one does nothing
    assert not server.sim.orders()
    dispatch_orders(provider.pk)
    assert len(server.sim.orders()) == 3


def test_a_claimed_order_is_never_sent_again(shop, placing):
    server, provider = shop()
    service = service_of(provider, "Default")
    (order,) = placing(service)
    orders_dispatch(provider=provider)

    assert order_submit(order_id=order.pk) is None  # a late duplicate finds it sent
    assert orders_dispatch(provider=provider).sent == 0
    assert len(server.sim.orders()) == 1
    assert orders_sweep() == {"to_review": 0}
