"""Production settings pass Django's deployment checks and refuse to start without their secrets; the
one-command runner refuses busy ports, serves both Celery queues and stops everything it started."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import load_command_class

from tests.production import manage
from tests.running_panel import RunningPanel

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_passes_with_production_environment():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="x" * 30 + "-a-long-random-production-secret-0123456789",
        DJANGO_ALLOWED_HOSTS="panel.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="panel.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = manage("check", DJANGO_SECRET_KEY="y" * 60)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_runpanel_and_runsimulator_document_themselves():
    for command in ("runpanel", "runsimulator"):
        # What ``manage.py <command> --help`` prints, without a process of its own.
        parser = load_command_class("panels", command).create_parser("manage.py", command)
        assert "--port" in parser.format_help()


def test_runpanel_refuses_a_port_that_is_taken():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "runpanel", "--no-simulator", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "reseller.settings.test", "DJANGO_DEBUG": "true"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr


def celery_queues_served(pids: list[int]) -> set[str]:
    """The queues the Celery workers among ``pids`` were started for (``-Q``)."""
    served = set()
    for pid in pids:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        if "worker" in argv and "-Q" in argv:
            served.update(argv[argv.index("-Q") + 1].split(","))
    return served


@pytest.mark.slow
def test_runpanel_stops_everything_it_started(tmp_path, unused_tcp_port, panel_database):
    """runpanel starts a worker for sends and periodic work, which beat's heartbeat reaches on the embedded
    file broker; Ctrl-C stops the web server, workers and scheduler with it (killed if they
    dawdle): no worker is left behind to take the next run's tasks."""
    panel = RunningPanel(tmp_path, unused_tcp_port)
    panel.migrate(panel_database)
    panel.start()
    try:
        assert len(panel.processes()) >= 4  # runpanel, the worker, beat, web
        assert celery_queues_served(panel.processes()) == {"celery", "periodic"}
        # Both sides of the heartbeat: the one worker takes the periodic queue and the sending one. Watched
        # from one process of the panel's for up to a minute.
        heartbeat = (
            "import time\n"
            "from console.heartbeat import heartbeats\n"
            "deadline = time.monotonic() + 60\n"
            "while any(b.stale for b in heartbeats()) and time.monotonic() < deadline:\n"
            "    time.sleep(0.5)\n"
            "print(not any(b.stale for b in heartbeats()))\n"
        )
        assert panel.manage("shell", "--no-imports", "-c", heartbeat).strip() == "True", panel.logs()
        panel.process.send_signal(signal.SIGINT)
        panel.process.wait(timeout=30)  # all are asked at once; what is left after 15 s is killed
        assert panel.processes() == [], panel.logs()
    finally:
        panel.stop()
        for pid in panel.processes():
            os.kill(pid, signal.SIGKILL)
