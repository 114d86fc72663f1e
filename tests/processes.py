"""Processes a test starts: Celery workers and beat on the test's database, broker queues and cache."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

# A Celery process of a test's must share its database and broker: PostgreSQL and Redis.
with_shared_services = pytest.mark.skipif(
    not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="a worker in another process needs a shared database and broker (PostgreSQL and Redis)",
)


def celery(*argv: str, log: Path, **env: str) -> subprocess.Popen:
    """A Celery process (``celery -A reseller …``) on this test's database, broker queues and cache, its
    output in ``log``."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reseller.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **env,
    }
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "reseller", *argv, "-l", "warning"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def worker_started(name: str, *argv: str, log: Path) -> tuple[subprocess.Popen, str]:
    """A Celery worker (``celery worker …``) named apart from every other run's and test's (they share the
    broker, and a ping must reach this one): the process and its node name, for ``workers_ready``."""
    node = f"{name}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    return celery("worker", *argv, "-n", node, log=log), node


def workers_ready(*nodes: str, seconds: float = 120) -> None:
    """Wait until each worker answers a ping: on a loaded machine a worker takes tens of seconds to start,
    which the waits of a test that times what the workers do must not count."""
    from reseller.celery import app

    deadline, answered = time.monotonic() + seconds, set()
    while not answered >= set(nodes):
        assert time.monotonic() < deadline, f"workers not up after {seconds} s: {set(nodes) - answered}"
        answered |= {node for reply in app.control.ping(destination=list(nodes), timeout=1) for node in reply}


def stop(*processes: subprocess.Popen, seconds: float = 20) -> None:
    """Ask them all to stop (a worker first finishes its task), then kill what is left after ``seconds``."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
