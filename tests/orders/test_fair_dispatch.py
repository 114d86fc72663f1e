"""Fair dispatch through the deployment's real processes (issue 18): a provider that is rate-limited or slow
with a backlog never holds up another provider's orders, nor the other provider's status syncs."""

import threading
import time

import pytest
from django.conf import settings
from django.utils import timezone

from orders.models import Order
from orders.services import UNSENT
from panels.models import ProviderCall, SyncRun
from tests.orders.support import orders_placed
from tests.processes import celery, stop, with_shared_services, worker_started, workers_ready

pytestmark = [pytest.mark.slow, with_shared_services]


@pytest.fixture
def deployment(transactional_db, tmp_path):
    """runpanel's and docker-compose's shape: a threads worker sending, a worker for periodic work, beat
    (status syncs every 2 s). Requested after the simulators, so it stops first while they still answer."""
    sending, periodic = settings.CELERY_TASK_DEFAULT_QUEUE, settings.PERIODIC_QUEUE
    (sending_worker, sending_node), (periodic_worker, periodic_node) = (
        worker_started(
            "sending", "--pool=threads", "--concurrency=8", "-Q", sending, log=tmp_path / "sending.log"
        ),
        worker_started("periodic", "--concurrency=2", "-Q", periodic, log=tmp_path / "periodic.log"),
    )
    processes = [
        sending_worker,
        periodic_worker,
        celery("beat", log=tmp_path / "beat.log", STATUS_SYNC_SECONDS="2"),
    ]
    try:
        workers_ready(sending_node, periodic_node)
        yield
    finally:
        stop(*processes)


@pytest.fixture
def two_providers(shop):
    busy_server, busy = shop("smmcloud")
    idle_server, idle = shop("smmcool")
    return busy_server, busy, idle_server, idle


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def sent(orders):
    return Order.objects.filter(pk__in=[order.pk for order in orders]).exclude(status__in=UNSENT).count()


def test_an_idle_providers_order_goes_out_while_a_rate_limited_backlog_drains_at_its_limit(
    two_providers, customer, deployment
):
    _, busy, _, idle = two_providers
    busy.calls_per_minute = 12  # a window of its own: ten a minute for sending, two kept for the rest
    busy.save()
    calls = ProviderCall.objects.filter(provider=busy, created_at__gte=timezone.now())
    backlog = orders_placed(customer, busy, 25, "busy")
    # This minute's sending budget spent: ten, or nine when a status sync or balance check took a call first.
    assert wait_until(lambda: sent(backlog) >= 9, 30)
    syncs_of_idle = SyncRun.objects.filter(provider=idle, kind=SyncRun.Kind.STATUS, ok=True)
    syncs_before = syncs_of_idle.count()

    started = time.monotonic()
    (order,) = orders_placed(customer, idle, 1, "idle")
    # Accepted upstream, not merely claimed: a claimed order is still being sent.
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PENDING, 30)
    waited = time.monotonic() - started
    assert waited < 20  # seconds (a loaded machine's), not the backlog's next minute

    # The backlog drains at its limit, neither past it nor under it: ten this minute (nine if a balance check
    # came first), the rest waiting unclaimed; no more than twelve calls of any kind in the minute.
    assert 9 <= sent(backlog) <= 10
    unclaimed = Order.objects.filter(pk__in=[o.pk for o in backlog], status=Order.Status.QUEUED)
    assert unclaimed.count() == 25 - sent(backlog)
    assert calls.count() <= 12
    # The idle provider's status syncs kept their schedule (every 2 s) throughout.
    assert wait_until(lambda: syncs_of_idle.count() >= syncs_before + 2, 15)


def test_an_idle_providers_order_goes_out_while_a_slow_provider_holds_its_own_threads(
    two_providers, customer, deployment
):
    busy_server, busy, _, idle = two_providers
    busy.read_timeout, busy.send_concurrency = 300, 2
    busy.save()
    # Every add takes two minutes to answer (clear_faults below answers them at once): longer than all the
    # waits here together, so the idle provider's order going out proves it waited for none of them, on any
    # machine's load.
    busy_server.sim.set_fault("slow", action="add", delay=120)
    in_flight = peak = 0
    guard = threading.Lock()
    answer = busy_server.sim.handle

    def counted(params, *args, **kwargs):
        nonlocal in_flight, peak
        if params.get("action") != "add":
            return answer(params, *args, **kwargs)
        with guard:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return answer(params, *args, **kwargs)
        finally:
            with guard:
                in_flight -= 1

    busy_server.sim.handle = counted
    backlog = orders_placed(customer, busy, 20, "slow")
    assert wait_until(lambda: in_flight == 2, 60)

    (order,) = orders_placed(customer, idle, 1, "idle")
    assert wait_until(lambda: sent([order]) == 1, 45)
    assert in_flight == 2  # the slow provider's two adds still unanswered …
    assert peak == 2  # … and it never held more than its two threads
    assert not Order.objects.filter(pk__in=[o.pk for o in backlog]).exclude(
        status__in=UNSENT | {Order.Status.SENDING}
    )
    busy_server.sim.clear_faults()  # the rest goes quickly: the worker stops without waiting out the backlog
