"""Status sync of many open orders on one provider with a fixed simulated latency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller python -m bench.status_sync [20000 100000]
        [--latency 0.05] [--concurrency 4]

Checks: upstream calls are exactly ceil(N/100); SQL queries per batch do not grow with N; and reports
the wall time as a ratio to the floor ceil(N/100) x latency / concurrency.
"""

import argparse
import math
import time
from decimal import Decimal

from bench._django import benchmark_database


def measure(count: int, *, latency: float, concurrency: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection

    from catalogue.models import Service
    from catalogue.publishing import services_publish
    from orders.models import Order
    from orders.services import orders_sync_statuses
    from panels.catalogue import catalogue_sync
    from panels.services import balance_sync, provider_upsert
    from panels.simulator import Simulator, SimulatorServer

    simulator = Simulator("smmcloud", reject_duplicate_links=False)
    with SimulatorServer(simulator) as server:
        provider, _ = provider_upsert(
            name=f"bench-{count}", api_url=server.url, api_key=simulator.api_key, calls_per_minute=1_000_000
        )
        balance_sync(provider=provider)
        catalogue_sync(provider=provider)
        services_publish(provider=provider, percent=Decimal(50))
        service = Service.objects.get(provider_service__provider=provider, provider_service__remote_id="1")
        user, _ = User.objects.get_or_create(username="bench")
        remote_ids = simulator.seed_orders(1, count)
        Order.objects.bulk_create(
            (
                Order(
                    user=user,
                    service=service,
                    provider=provider,
                    provider_service=service.provider_service,
                    type="Default",
                    link=f"https://seed/{remote_id}",
                    fields={},
                    units=100,
                    price=service.price,
                    charge=Decimal("0.135"),
                    status=Order.Status.PENDING,
                    provider_order_id=remote_id,
                )
                for remote_id in remote_ids
            ),
            batch_size=5000,
        )
        simulator.set_fault("slow", action="status", delay=latency)
        calls_before = simulator.calls["status"]
        queries = []
        started = time.perf_counter()
        with connection.execute_wrapper(
            lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)
        ):
            result = orders_sync_statuses(provider=provider, concurrency=concurrency)
        wall = time.perf_counter() - started
    batches = math.ceil(count / 100)
    floor = batches * latency / concurrency
    return {
        "orders": count,
        "calls": simulator.calls["status"] - calls_before,
        "expected_calls": batches,
        "checked": result.checked,
        "queries": len(queries),
        "queries_per_batch": round(len(queries) / batches, 2),
        "wall": round(wall, 2),
        "floor": round(floor, 2),
        "ratio": round(wall / floor, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000, 100_000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with benchmark_database():
        from django.db import connection

        print(f"database: {connection.vendor}, latency {args.latency} s, concurrency {args.concurrency}")
        for size in args.sizes:
            row = measure(size, latency=args.latency, concurrency=args.concurrency)
            print(
                f"{row['orders']:>7} orders  {row['calls']:>5} calls "
                f"(ceil(N/100) = {row['expected_calls']})  "
                f"{row['queries']:>6} queries = {row['queries_per_batch']} per batch  "
                f"wall {row['wall']} s / floor {row['floor']} s = {row['ratio']}x"
            )
            assert row["calls"] == row["expected_calls"], "upstream calls must be exactly ceil(N/100)"
            assert row["checked"] == size


if __name__ == "__main__":
    main()
