"""A burst of orders across two providers, one limited to 60 calls a minute, sent by the panel's own Celery
processes through the real broker (issue 18's proof point: fair dispatch).

    [DATABASE_URL=postgres://… REDIS_URL=redis://…] python -m bench.dispatch [--orders 2000] [--share-a 120]
        [--limit-a 60] [--limit-b 1200] [--send-concurrency 4] [--status-sync-seconds 10]

Without DATABASE_URL and REDIS_URL it runs the embedded default (SQLite file, filesystem broker, database
cache) in a temporary VAR_DIR of its own, never the panel's var/. Two simulators answer over real HTTP, each
refusing calls past its provider's limit (HTTP 429) as a real provider would. The workers as deployed — on
Redis as docker-compose.yml runs them (a sending worker, threads pool 8, and a periodic worker, 2), embedded
as runpanel does (one threads worker, 10, for both queues) — and beat, status syncs every
--status-sync-seconds.
Orders are placed one after another through ``order_place``, A's spread evenly among B's.

Per provider: time from the burst's start to its last order sent, against its floors — share ÷ limit, share ÷
the sending budget (nine tenths of the limit) and the moving window's (a full budget goes out at once, the
next a minute later) — and B's time to send each order. Then the broker alone: how long an idle worker takes
to pick a message up, and how many a second it drains from a backlog.
"""

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bench._django import benchmark_database
from tests.processes import stop


def start(name: str, *argv: str, env: dict, logs: Path) -> subprocess.Popen:
    """``celery -A reseller …`` with the bench's settings, its output in ``logs/<name>.log``."""
    with (logs / f"{name}.log").open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "reseller", *argv],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(name: str, logs: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if " ready." in (logs / f"{name}.log").read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"The {name} worker did not start: see {logs / f'{name}.log'}")


def child_env() -> dict:
    """The environment of the bench's Celery processes: its own, on the throwaway database."""
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    if connection.vendor == "postgresql":
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        env["DATABASE_URL"] = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return env


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def shop(name: str, simulator, server, *, calls_per_minute: int, send_concurrency: int):
    from catalogue.models import Service
    from catalogue.publishing import services_publish
    from panels.catalogue import catalogue_sync
    from panels.services import balance_sync, provider_upsert

    provider, _ = provider_upsert(
        name=name,
        api_url=server.url,
        api_key=simulator.api_key,
        calls_per_minute=calls_per_minute,
        send_concurrency=send_concurrency,
    )
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    services_publish(provider=provider, percent=Decimal(50))
    return provider, Service.objects.filter(provider_service__provider=provider, type="Default").first()


def floors(share: int, calls_per_minute: int, provider_id: int) -> dict:
    from panels.ratelimit import ProviderBudget

    sending = calls_per_minute - ProviderBudget(provider_id, calls_per_minute).kept
    return {
        "limit": share / calls_per_minute * 60,
        "sending": share / sending * 60,
        # A moving window lets a whole budget go at once and the next one a minute later.
        "window": (math.ceil(share / sending) - 1) * 60,
        "sending_per_minute": sending,
    }


def burst(args, logs: Path) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from billing.services import account_for, balance_deposit
    from orders.models import Order
    from orders.services import UNSENT, order_place
    from panels.models import ProviderCall
    from panels.simulator import Simulator, SimulatorServer

    share_b = args.orders - args.share_a
    upstream = {"a": args.limit_a, "b": args.limit_b} if args.upstream_limit else {"a": 0, "b": 0}
    sim_a = Simulator("smmcloud", reject_duplicate_links=False, balance=10**7, calls_per_minute=upstream["a"])
    sim_b = Simulator("smmcool", reject_duplicate_links=False, balance=10**7, calls_per_minute=upstream["b"])
    with SimulatorServer(sim_a) as server_a, SimulatorServer(sim_b) as server_b:
        a, service_a = shop(
            "A", sim_a, server_a, calls_per_minute=args.limit_a, send_concurrency=args.send_concurrency
        )
        b, service_b = shop(
            "B", sim_b, server_b, calls_per_minute=args.limit_b, send_concurrency=args.send_concurrency
        )
        customer = User.objects.create_user("bench")
        balance_deposit(account=account_for(customer), amount=Decimal(10**6))

        env = child_env()
        sending, periodic = settings.CELERY_TASK_DEFAULT_QUEUE, settings.PERIODIC_QUEUE
        threads = ("--pool", "threads", "--concurrency")
        if settings.REDIS_URL:  # docker-compose.yml's shape: a worker per queue
            workers = {
                "sending": ("-Q", sending, "-n", "sending@%h", *threads, "8"),
                "periodic": ("-Q", periodic, "-n", "periodic@%h", "--concurrency", "2"),
            }
        else:  # runpanel's: one worker for both queues, so one budget per provider
            workers = {"sending": ("-Q", f"{sending},{periodic}", *threads, "10")}
        processes = [
            *(
                start(name, "worker", "-l", "info", *options, env=env, logs=logs)
                for name, options in workers.items()
            ),
            start("beat", "beat", "-l", "info", env=env, logs=logs),
        ]
        try:
            for name in workers:
                wait_ready(name, logs)
            print(
                f"{connection.vendor}, {'Redis' if settings.REDIS_URL else 'filesystem broker'}: "
                f"A {args.share_a} orders at {args.limit_a}/min, B {share_b} at {args.limit_b}/min, "
                f"{args.send_concurrency} sent at once, status syncs every {args.status_sync_seconds} s"
            )
            started_at, started = timezone.now(), time.monotonic()
            for n in range(args.orders):
                to_a = (n + 1) * args.share_a // args.orders > n * args.share_a // args.orders
                service = service_a if to_a else service_b
                order_place(
                    user=customer,
                    service=service,
                    data={"link": f"https://bench.example/{n}", "quantity": str(service.min_quantity)},
                )
            placed_in = time.monotonic() - started
            print(f"placed {args.orders} orders in {placed_in:.1f} s", flush=True)
            waiting = Order.objects.filter(status__in=UNSENT | {Order.Status.SENDING})
            deadline = started + args.timeout
            while waiting.exists() and time.monotonic() < deadline:
                time.sleep(1)
                if int(time.monotonic() - started) % 15 == 0:
                    counts = dict(waiting.values_list("provider__name").annotate(n=Count("pk")))
                    print(f"  {time.monotonic() - started:5.0f} s: still unsent {counts}", flush=True)
            if waiting.exists():
                print(f"TIMED OUT after {args.timeout} s: {waiting.count()} orders still unsent")
        finally:
            stop(*processes)

        runs = [
            line for line in (logs / "sending.log").read_text().splitlines() if "dispatch_orders[" in line
        ]
        print(
            f"sending worker: {sum('received' in line for line in runs)} dispatcher runs (broker messages) "
            f"for {args.orders} orders"
        )
        for provider, share, limit, sim in (
            (a, args.share_a, args.limit_a, sim_a),
            (b, share_b, args.limit_b, sim_b),
        ):
            orders = Order.objects.filter(provider=provider)
            statuses = dict(orders.values_list("status").annotate(n=Count("pk")))
            rows = list(orders.filter(sent_at__isnull=False).values_list("created_at", "sent_at"))
            to_send = [(sent - created).total_seconds() for created, sent in rows]
            since_start = [(sent - started_at).total_seconds() for _, sent in rows]
            refused = ProviderCall.objects.filter(provider=provider, http_status=429).count()
            floor = floors(share, limit, provider.pk)
            last = max(since_start)
            print(
                f"{provider.name}: {share} orders, {statuses}; last sent at {last:.1f} s, first at "
                f"{min(since_start):.2f} s; floor {floor['limit']:.1f} s (at {limit}/min), "
                f"{floor['sending']:.1f} s (at {floor['sending_per_minute']}/min), moving window "
                f"{floor['window']:.0f} s; ratio {last / floor['limit']:.2f} / "
                f"{last / floor['sending']:.2f}; "
                f"time to send p50 {percentile(to_send, 50):.2f} s p95 {percentile(to_send, 95):.2f} s "
                f"max {max(to_send):.2f} s; upstream calls {dict(sim.calls)}, refused (429) {refused}"
            )


def broker(args, logs: Path) -> None:
    """An idle worker's pick-up time for one message, and its drain rate of a backlog: how fast a kick
    reaches a dispatcher."""
    from django.conf import settings

    from reseller.celery import app

    queue = f"{os.environ['BENCH_RUN']}-broker"
    worker = start(
        "broker",
        "worker",
        "-l",
        "info",
        "-Q",
        queue,
        "-n",
        "broker@%h",
        "--pool",
        "threads",
        "--concurrency",
        "8",
        env=child_env(),
        logs=logs,
    )
    try:
        wait_ready("broker", logs)
        with app.connection_for_write() as connection:
            channel = connection.default_channel

            def left() -> int:
                return channel.queue_declare(queue=queue).message_count

            def drained(seconds: float = 120) -> None:
                deadline = time.monotonic() + seconds
                while left() and time.monotonic() < deadline:
                    time.sleep(0.002)

            pickups = []
            for _ in range(args.broker_pickups):
                sent = time.monotonic()
                app.send_task("celery.accumulate", (1,), queue=queue)
                drained()
                pickups.append(time.monotonic() - sent)
                time.sleep(0.1)
            sent = time.monotonic()
            for n in range(args.broker_backlog):
                app.send_task("celery.accumulate", (n,), queue=queue)
            published = time.monotonic() - sent
            drained()
            took = time.monotonic() - sent
    finally:
        stop(worker)
    transport = "Redis" if settings.REDIS_URL else "filesystem"
    print(
        f"broker ({transport}): idle pick-up p50 {statistics.median(pickups) * 1000:.0f} ms, max "
        f"{max(pickups) * 1000:.0f} ms over {len(pickups)}; backlog of {args.broker_backlog} "
        f"(published in {published:.2f} s) drained in {took:.2f} s = "
        f"{args.broker_backlog / took:.0f} messages/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000, help="The burst, across both providers.")
    parser.add_argument("--share-a", type=int, default=120, help="Orders of the limited provider A.")
    parser.add_argument("--limit-a", type=int, default=60, help="A's calls a minute.")
    parser.add_argument("--limit-b", type=int, default=1200, help="B's calls a minute.")
    parser.add_argument("--send-concurrency", type=int, default=4, help="Orders in flight per provider.")
    parser.add_argument("--status-sync-seconds", type=int, default=10)
    parser.add_argument(
        "--no-upstream-limit", dest="upstream_limit", action="store_false", help="Simulators refuse nothing."
    )
    parser.add_argument("--timeout", type=float, default=900, help="Seconds to wait for the burst to drain.")
    parser.add_argument("--broker-pickups", type=int, default=20)
    parser.add_argument("--broker-backlog", type=int, default=500)
    parser.add_argument("--skip-burst", action="store_true", help="Measure the broker alone.")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))  # never the panel's var/
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.panel_settings",
        DJANGO_DEBUG="false",
        VAR_DIR=str(var_dir),
        BENCH_RUN=f"bench-dispatch-{uuid.uuid4().hex[:8]}",
        STATUS_SYNC_SECONDS=str(args.status_sync_seconds),
    )
    try:
        with benchmark_database():
            if not args.skip_burst:
                burst(args, var_dir)
            broker(args, var_dir)
    finally:
        if os.environ.get("BENCH_KEEP_VAR"):
            print(f"logs and database kept in {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
