"""Real Celery worker processes, fed through the real broker, do the provider work; periodic work keeps its
schedule while the sending worker is busy."""

import os
import time

import pytest
from django.conf import settings

from catalogue.models import Service
from orders.models import Order
from orders.services import UNSENT, order_place
from panels import tasks
from panels.models import SyncRun
from tests.orders.support import data_for
from tests.processes import celery, stop, with_shared_services, worker_started, workers_ready

pytestmark = [pytest.mark.slow, with_shared_services]


@pytest.fixture
def worker(transactional_db, tmp_path):
    queue = f"test-{os.getpid()}"
    process, node = worker_started("solo", "--pool=solo", "-Q", queue, log=tmp_path / "worker.log")
    try:
        workers_ready(node)
        yield queue
    finally:
        stop(process)


def test_worker_syncs_a_provider_sent_through_the_broker(worker, make_provider, simulator):
    provider = make_provider(simulator)

    tasks.sync_catalogue.apply_async((provider.pk,), queue=worker)
    tasks.sync_balance.apply_async((provider.pk,), queue=worker)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and SyncRun.objects.filter(ok=True).count() < 2:
        time.sleep(0.3)
    assert set(SyncRun.objects.values_list("kind", "ok")) == {("catalogue", True), ("balance", True)}
    assert provider.services.filter(active=True).count() > 0


@pytest.fixture
def panel_workers(transactional_db, tmp_path):
    """The deployment's shape: one worker for sends, one for periodic work, and beat (status syncs every
    2 s). Requested after the simulators, so they stop first, while the simulators still answer."""
    sending, periodic = settings.CELERY_TASK_DEFAULT_QUEUE, settings.PERIODIC_QUEUE
    (sending_worker, sending_node), (periodic_worker, periodic_node) = (
        worker_started("sending", "--pool=solo", "-Q", sending, log=tmp_path / "sending.log"),
        worker_started("periodic", "--pool=solo", "-Q", periodic, log=tmp_path / "periodic.log"),
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


def test_status_syncs_keep_their_schedule_while_a_backlog_of_sends_drains(shop, customer, panel_workers):
    server, provider = shop()
    provider.read_timeout, provider.send_concurrency = 10, 1
    provider.save()
    server.sim.set_fault("slow", action="add", delay=1.5)  # its dispatcher sends one order every 1.5 s
    service = Service.objects.filter(provider_service__provider=provider, type="Default").first()
    backlog = [
        order_place(user=customer, service=service, data=data_for(service, link=f"https://x.example/{n}"))
        for n in range(20)
    ]
    unsent = Order.objects.filter(pk__in=[order.pk for order in backlog], status__in=UNSENT)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not Order.objects.filter(status=Order.Status.PENDING).exists():
        time.sleep(0.2)
    syncs = SyncRun.objects.filter(kind=SyncRun.Kind.STATUS, ok=True)
    first_send, seen = time.monotonic(), syncs.count()
    while time.monotonic() < first_send + 20 and syncs.count() < seen + 3:
        time.sleep(0.2)

    # Three status syncs in about three intervals, meanwhile the sending worker is still busy with the backlog.
    assert syncs.count() >= seen + 3
    assert time.monotonic() - first_send < 10
    assert unsent.count() >= 10
    server.sim.clear_faults()  # the rest goes quickly: the worker stops without waiting out the backlog
