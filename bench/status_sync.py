"""Status sync of many open orders on one provider with a fixed simulated latency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller python -m bench.status_sync [20000 100000]
        [--latency 0.05] [--concurrency 4] [--runs 3] [--cases figures partial]

Two cases: *figures* — every order stays Pending and takes the provider's figures (nothing moves);
*partial* — every order moves Pending → Partial with a third undelivered, refunded to one of 1,000 customers.
Checks: upstream calls are exactly ceil(N/100); SQL queries per batch do not grow with N; reports the wall
time as a ratio to the floor ceil(N/100) x latency / concurrency, this process's CPU time per batch (what a
loaded machine stretches least), and its peak RSS.

The simulator runs in a child process (its books of a million orders would otherwise dominate the peak
RSS, and its answers would compete for this process's interpreter lock); the orders are inserted with one
``INSERT … SELECT`` from a template row, so a million take seconds.
"""

import argparse
import math
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from bench._django import benchmark_database

CUSTOMERS = 1_000
CASES = {"figures": ("Pending", None), "partial": ("Partial", 33)}


def _simulator_process(connection, latency: float) -> None:
    """Serve a simulator and answer the parent's commands over ``connection``."""
    from panels.simulator import Simulator, SimulatorServer

    simulator = Simulator("smmcloud", reject_duplicate_links=False)
    server = SimulatorServer(simulator).start()
    connection.send((server.url, simulator.api_key))
    while True:
        command, *args = connection.recv()
        if command == "seed":
            count, status, remains = args
            simulator.clear_faults()
            ids = simulator.seed_orders(1, count, status=status, remains=remains)
            first = int(ids[0])
            assert ids[-1] == str(first + count - 1), "seeded ids are consecutive"
            del ids
            simulator.set_fault("slow", action="status", delay=latency)
            connection.send(first)
        elif command == "calls":
            connection.send(simulator.calls["status"])
        else:
            server.stop()
            return


@contextmanager
def queries_counted() -> Iterator[list]:
    """Count the SQL statements of every thread's connection (the sync's workers have their own)."""
    from django.db.backends.utils import CursorWrapper

    counted: list = []
    execute = CursorWrapper._execute_with_wrappers

    def counting(self, *args, **kwargs):
        counted.append(None)  # list.append is atomic: workers count at once
        return execute(self, *args, **kwargs)

    CursorWrapper._execute_with_wrappers = counting
    try:
        yield counted
    finally:
        CursorWrapper._execute_with_wrappers = execute


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def load_orders(
    *,
    count: int,
    first_remote_id: int,
    service,
    provider,
    users: list[int],
    generated: dict[str, str] | None = None,
    params: dict | None = None,
) -> None:
    """``count`` Pending orders sent to ``provider`` (remote ids from ``first_remote_id`` on), spread over
    ``users``: one made by the ORM, the rest copied from it in one statement. ``generated`` gives more
    columns an SQL expression of the row number ``g`` (its ``params`` passed along)."""
    from django.db import connection

    from orders.models import Order

    template = Order.objects.create(
        user_id=users[0],
        service=service,
        provider=provider,
        provider_service=service.provider_service,
        type="Default",
        link=f"https://seed/{first_remote_id}",
        fields={},
        units=100,
        price=service.price,
        charge=Decimal("0.135"),
        status=Order.Status.PENDING,
        provider_order_id=str(first_remote_id),
    )
    generated = {
        "user_id": "(%(users)s::bigint[])[1 + g %% %(customers)s]",
        "link": "'https://seed/' || (%(first)s + g)::text",
        "provider_order_id": "(%(first)s + g)::text",
        **(generated or {}),
    }
    columns = [field.column for field in Order._meta.concrete_fields if not field.primary_key]
    selected = ", ".join(generated.get(column, f"o.{column}") for column in columns)
    sql = (
        f"INSERT INTO {Order._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - no outside text in the SQL
        f"SELECT {selected} FROM {Order._meta.db_table} AS o, generate_series(1, %(last)s) AS g "
        "WHERE o.id = %(template)s"
    )
    params = {
        "users": users,
        "customers": len(users),
        "first": first_remote_id,
        "last": count - 1,
        "template": template.pk,
        **(params or {}),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute(f"ANALYZE {Order._meta.db_table}")


def measure(
    count: int, *, case: str, latency: float, concurrency: int, sim, provider, service, users
) -> dict:
    from django.db import connection

    from orders.models import Order
    from orders.services import orders_sync_statuses

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Order._meta.db_table} CASCADE")
    status, remains = CASES[case]
    sim.send(("seed", count, status, remains))
    load_orders(count=count, first_remote_id=sim.recv(), service=service, provider=provider, users=users)
    sim.send(("calls",))
    calls_before = sim.recv()
    rss_before = peak_rss_mb()
    with queries_counted() as queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = orders_sync_statuses(provider=provider, concurrency=concurrency)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    sim.send(("calls",))
    calls = sim.recv() - calls_before
    batches = math.ceil(count / 100)
    floor = batches * latency / concurrency
    if case == "partial":
        assert result.moved == count, (result.moved, count)
        assert not Order.objects.filter(provider=provider).exclude(status=Order.Status.PARTIAL).exists()
    return {
        "orders": count,
        "case": case,
        "calls": calls,
        "expected_calls": batches,
        "checked": result.checked,
        "moved": result.moved,
        "queries": len(queries),
        "queries_per_batch": round(len(queries) / batches, 2),
        "wall": wall,
        "cpu_per_batch_ms": cpu / batches * 1000,
        "floor": floor,
        "ratio": wall / floor,
        "rss_before": rss_before,
        "rss_peak": peak_rss_mb(),
    }


def _setup(sim):
    from django.contrib.auth.models import User

    from billing.models import Account
    from catalogue.models import Service
    from catalogue.publishing import services_publish
    from panels.catalogue import catalogue_sync
    from panels.services import balance_sync, provider_upsert

    url, key = sim.recv()
    provider, _ = provider_upsert(name="bench", api_url=url, api_key=key, calls_per_minute=1_000_000)
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    services_publish(provider=provider, percent=Decimal(50))
    service = Service.objects.get(provider_service__provider=provider, provider_service__remote_id="1")
    users = User.objects.bulk_create(User(username=f"bench-{n}") for n in range(CUSTOMERS))
    Account.objects.bulk_create(Account(user=user) for user in users)
    return provider, service, [user.pk for user in users]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000, 100_000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    args = parser.parse_args()
    with benchmark_database():
        from django.db import connection

        ours, theirs = multiprocessing.get_context("fork").Pipe()
        simulator = multiprocessing.get_context("fork").Process(
            target=_simulator_process, args=(theirs, args.latency), daemon=True
        )
        simulator.start()
        provider, service, users = _setup(ours)
        print(
            f"database: {connection.vendor}, latency {args.latency} s, concurrency {args.concurrency}, "
            f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}"
        )
        for size in args.sizes:
            for case in args.cases:
                rows = []
                for _ in range(args.runs):
                    row = measure(
                        size,
                        case=case,
                        latency=args.latency,
                        concurrency=args.concurrency,
                        sim=ours,
                        provider=provider,
                        service=service,
                        users=users,
                    )
                    rows.append(row)
                    print(
                        f"{row['orders']:>7} orders {case:<8} {row['calls']:>5} calls "
                        f"(ceil(N/100) = {row['expected_calls']})  {row['moved']:>7} moved  "
                        f"{row['queries']:>7} queries = {row['queries_per_batch']} per batch  "
                        f"wall {row['wall']:.2f} s / floor {row['floor']:.2f} s = {row['ratio']:.2f}x  "
                        f"CPU {row['cpu_per_batch_ms']:.1f} ms per batch  "
                        f"peak RSS {row['rss_peak']:.0f} MB (before the sync {row['rss_before']:.0f} MB)  "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                    assert row["calls"] == row["expected_calls"], "upstream calls must be exactly ceil(N/100)"
                    assert row["checked"] == size
                ratios = [row["ratio"] for row in rows]
                print(
                    f"{size:>7} orders {case:<8} ratio min {min(ratios):.2f} "
                    f"median {statistics.median(ratios):.2f}"
                    f"  wall min {min(row['wall'] for row in rows):.2f} s"
                    f"  median {statistics.median(row['wall'] for row in rows):.2f} s",
                    flush=True,
                )
        ours.send(("stop",))
        simulator.join(timeout=10)


if __name__ == "__main__":
    main()
