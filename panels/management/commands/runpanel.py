"""Run the whole panel on one machine: web, Celery workers (sending and periodic), beat, and simulated demo
providers."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_LOGIN = ("operator", "operator-demo")
DEMO_CUSTOMER = ("customer", "customer-demo")
DEMO_PROVIDERS = [  # (name, dialect, key)
    ("Demo smmcloud (simulator)", "smmcloud", "demo-smmcloud-key-0001"),
    ("Demo smmcool (simulator)", "smmcool", "demo-smmcool-key-0002"),
]


class Child:
    """A supervised child process whose output lines are prefixed with its name."""

    def __init__(self, name: str, argv: list[str]):
        self.name = name
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            sys.stdout.write(f"{self.name:>10} | {line}")
            sys.stdout.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> None:
        # To the child alone: a Celery worker shuts its own pool down; signalled together, it waits for them.
        if self.alive():
            self.process.terminate()

    def wait_or_kill(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def stop_all(children: list[Child], *, seconds: float = 15) -> None:
    """Ask every child to stop at once, then kill what is left (and what it started) after ``seconds``."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + seconds
    for child in children:
        child.wait_or_kill(deadline)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_in_use(host, port):
            return
        time.sleep(0.2)
    raise CommandError(f"Nothing answered on {host}:{port} within {seconds:.0f} s")


class Command(BaseCommand):
    help = "Set up and run the whole panel: web, Celery worker, beat and the simulated demo providers."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8701, help="First of two simulator ports.")
        parser.add_argument("--no-simulator", action="store_true", help="Do not start the demo providers.")

    def handle(self, *args, host, port, simulator_port, no_simulator, **options):
        # A known superuser password and free customer funds: a demo's, never a live panel's.
        if not settings.DEBUG:
            raise CommandError(
                "runpanel is the demo: it sets a known operator password and credits demo funds, so it runs "
                "only with DEBUG on (the local settings). Run a live panel with gunicorn and celery."
            )
        # Another program on one of our ports would be mistaken for ours: refuse before starting anything.
        wanted = [(host, port, "--port")]
        if not no_simulator:
            wanted += [
                ("127.0.0.1", simulator_port + n, "--simulator-port") for n in range(len(DEMO_PROVIDERS))
            ]
        for wanted_host, wanted_port, option in wanted:
            if port_in_use(wanted_host, wanted_port):
                raise CommandError(
                    f"Port {wanted_port} on {wanted_host} is already in use; choose another with {option}."
                )
        call_command("migrate", interactive=False, verbosity=0)  # the database cache's table too
        self._ensure_operator()
        self._ensure_demo_customer()

        children: list[Child] = []
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        python, manage = sys.executable, str(settings.BASE_DIR / "manage.py")
        try:
            if not no_simulator:
                for offset, (name, dialect, key) in enumerate(DEMO_PROVIDERS):
                    sim_port = simulator_port + offset
                    children.append(
                        Child(
                            dialect,
                            [
                                python,
                                manage,
                                "runsimulator",
                                "--dialect",
                                dialect,
                                "--port",
                                str(sim_port),
                                "--key",
                                key,
                                "--step-seconds",
                                "20",
                            ],
                        )
                    )
                    wait_for_port("127.0.0.1", sim_port)
                    call_command("addprovider", name, f"http://127.0.0.1:{sim_port}", key)
                    call_command("syncprovider", name)
                    call_command("publishservices", name, "--markup", "50")
            celery = [python, "-m", "celery", "-A", "reseller"]
            queues = f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.PERIODIC_QUEUE}"
            children += [
                # One worker process, threads, for both queues: without Redis each process keeps its own
                # provider budgets, and one process sending and syncing keeps one budget per provider. No send
                # holds a thread for long (a dispatcher run gives its thread back within a slice), so periodic
                # work still finds one; a production deployment runs a worker per queue (docker-compose.yml).
                Child("worker", [*celery, "worker", "-l", "info", "-Q", queues, "-P", "threads", "-c", "10"]),
                Child("beat", [*celery, "beat", "-l", "info"]),
                Child("web", [python, manage, "runserver", f"{host}:{port}", "--noreload"]),
            ]
            wait_for_port(host, port)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nThe storefront runs at http://{host}:{port}/ (demo customer {DEMO_CUSTOMER[0]} / "
                    f"{DEMO_CUSTOMER[1]}), the operator console at http://{host}:{port}/admin/ "
                    f"({DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}). Ctrl-C stops everything.\n"
                )
            )
            while not stopping.is_set():
                if dead := [child.name for child in children if not child.alive()]:
                    raise CommandError(f"{', '.join(dead)} stopped; shutting the panel down")
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop_all(list(reversed(children)))

    def _ensure_operator(self) -> None:
        username, password = DEMO_LOGIN
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

    def _ensure_demo_customer(self) -> None:
        """A customer with demo funds, so the storefront can be tried at once (credited only once)."""
        from accounts.services import customer_sign_up
        from billing.services import account_for, balance_deposit

        username, password = DEMO_CUSTOMER
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = customer_sign_up(username=username, email="customer@example.com", password=password)
        balance_deposit(
            account=account_for(user), amount=Decimal(100), reference="demo funds", key="deposit:demo"
        )
