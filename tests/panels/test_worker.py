"""A real Celery worker process, fed through the real broker, does the provider work."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from panels import tasks
from panels.models import SyncRun

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="a worker in another process needs a shared database and broker (PostgreSQL and Redis)",
    ),
]


@pytest.fixture
def worker(transactional_db):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reseller.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reseller",
            "worker",
            "--pool=solo",
            "-l",
            "warning",
            "-Q",
            f"test-{os.getpid()}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield f"test-{os.getpid()}"
    process.terminate()
    process.wait(timeout=20)


def test_worker_syncs_a_provider_sent_through_the_broker(worker, make_provider, simulator):
    provider = make_provider(simulator)

    tasks.sync_catalogue.apply_async((provider.pk,), queue=worker)
    tasks.sync_balance.apply_async((provider.pk,), queue=worker)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and SyncRun.objects.filter(ok=True).count() < 2:
        time.sleep(0.3)
    assert set(SyncRun.objects.values_list("kind", "ok")) == {("catalogue", True), ("balance", True)}
    assert provider.services.filter(active=True).count() > 0
