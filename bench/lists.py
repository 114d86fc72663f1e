"""The pages that list a long history: a customer's orders (storefront and REST), the console's dashboard and
the admin's order list, with N orders of ONE customer behind them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller python -m bench.lists [100000 1000000]
        [--services 50] [--runs 3]

The shop of ``bench.console`` (two providers, 200 customers, an Owner); N orders of one customer plus N/10
of the 200 others, spread over the last 30 days in the console bench's mix of statuses, inserted by
``bench.status_sync.load_orders`` (one ``INSERT … SELECT``), the dashboard's tally folded (``orders.tally``:
what its periodic task does as the orders come; timed), then ``VACUUM ANALYZE`` (as autovacuum would).
Each page is fetched through Django's test client ``--runs`` times; reports min / median wall time and the
SQL queries per page, which must not grow with N. The REST list's page 500 is reached the way a client
reaches it: the ``next`` link of page 499 (a cursor), or ``?page=500`` where the API pages by number.
"""

import argparse
import os
import statistics
import time
from datetime import timedelta

from bench._django import benchmark_database
from bench.console import NEVER_SENT, STATUS_MIX, seed_shop
from bench.status_sync import load_orders

SPREAD = timedelta(days=30)
OTHERS_EVERY = 11  # one order in 11 is another customer's: N of the customer's, N/10 of the others'


def load(count: int, *, first: int, customer, others, sold) -> None:
    """``count`` orders of ``customer`` and ``count // 10`` of ``others``, over the last ``SPREAD``, the
    newest last; remote ids from ``first`` on."""
    from django.utils import timezone

    total = count + count // 10
    # The mix as a list of 100 statuses, picked by the row number.
    statuses = [status for status, weight in STATUS_MIX.items() for _ in range(weight)]
    assert len(statuses) == 100
    status = "(%(statuses)s::text[])[1 + (g * 37) %% 100]"
    created = "%(start)s::timestamptz + g * %(step)s::interval"
    pick = "[1 + g %% %(services)s]"
    generated = {
        "user_id": f"CASE WHEN g %% {OTHERS_EVERY} = 0 "
        f"THEN (%(others)s::bigint[])[1 + (g / {OTHERS_EVERY}) %% %(customers)s] ELSE %(customer)s END",
        "service_id": f"(%(service_ids)s::bigint[]){pick}",
        "provider_id": f"(%(provider_ids)s::bigint[]){pick}",
        "provider_service_id": f"(%(provider_service_ids)s::bigint[]){pick}",
        "type": f"(%(types)s::text[]){pick}",
        "status": status,
        "refunded": f"CASE WHEN {status} IN ('canceled', 'failed') THEN o.charge ELSE 0 END",
        "provider_order_id": f"CASE WHEN {status} = ANY(%(never_sent)s) THEN NULL "
        "ELSE (%(first)s + g)::text END",
        "cost": "o.charge / 2",
        "cost_currency": "'USD'",
        "created_at": created,
        "sent_at": f"{created} + interval '5 seconds'",
        "finished_at": f"CASE WHEN {status} = 'completed' THEN {created} + interval '2 hours' END",
    }
    now = timezone.now()
    params = {
        "statuses": statuses,
        "start": now - SPREAD,
        "step": SPREAD / total,
        "services": len(sold),
        "others": [user.pk for user in others],
        "customers": len(others),
        "customer": customer.pk,
        "service_ids": [service.pk for service in sold],
        "provider_ids": [service.provider_service.provider_id for service in sold],
        "provider_service_ids": [service.provider_service_id for service in sold],
        "types": [service.type for service in sold],
        "never_sent": list(NEVER_SENT),
    }
    service = sold[0]
    load_orders(
        count=total,
        first_remote_id=first,
        service=service,
        provider=service.provider_service.provider,
        users=[customer.pk],
        generated=generated,
        params=params,
    )


def pages(customer, owner) -> dict[str, tuple]:
    """Each page: (who, path); the REST page 500 as a client reaches it."""
    from django.test import Client

    client = Client()
    client.force_login(customer)
    rest_500 = "/api/v1/orders/?page=500"
    if "count" not in client.get("/api/v1/orders/").json():  # a cursor: follow the links
        rest_500 = "/api/v1/orders/"
        for _ in range(499):
            rest_500 = client.get(rest_500).json()["next"]
    return {
        "storefront orders, page 1": (customer, "/orders/"),
        "storefront orders, page 500": (customer, "/orders/?page=500"),
        "REST orders, page 1": (customer, "/api/v1/orders/"),
        "REST orders, page 500": (customer, rest_500),
        "console dashboard": (owner, "/admin/console/dashboard/"),
        "admin orders": (owner, "/admin/orders/order/"),
        "admin orders, completed": (owner, "/admin/orders/order/?status__exact=completed"),
        "admin orders, one customer": (owner, f"/admin/orders/order/?user__id__exact={customer.pk}"),
    }


def measure(customer, owner, *, runs: int) -> dict[str, tuple[int, float, float, float, float]]:
    """Each page's SQL queries, min / median wall time, median time in SQL (as the client library saw it:
    the part that grows with the orders; the rest is rendering) and min / median CPU time of this process
    (Python and templates, with the driver's share: unlike the wall time, not stretched by the machine's
    other processes)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {}
    results = {}
    for name, (user, path) in pages(customer, owner).items():
        client = clients.get(user.pk)
        if client is None:
            client = clients[user.pk] = Client()
            client.force_login(user)
        client.get(path)  # warm: the first call of a process pays imports and template loading
        walls, queries, sql, cpu = [], [], [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as executed:
                response = client.get(path)
            walls.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            queries.append(len(executed))
            sql.append(sum(float(query["time"]) for query in executed.captured_queries))
            assert response.status_code == 200, (path, response.status_code)
        results[name] = (
            max(queries),
            min(walls),
            statistics.median(walls),
            statistics.median(sql),
            min(cpu),
            statistics.median(cpu),
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    queries_by_size, loaded = [], 0
    with benchmark_database():
        from django.contrib.auth.models import User
        from django.db import connection

        from billing.models import Account
        from orders.tally import tally_fold

        owner, customers, sold = seed_shop(args.services)
        customer, others = customers[0], customers[1:]
        Account.objects.bulk_create(Account(user=user) for user in customers)
        User.objects.filter(pk__in=[user.pk for user in customers]).update(is_active=True)
        for size in sorted(args.sizes):
            started = time.perf_counter()
            load(size - loaded, first=loaded + loaded // 10, customer=customer, others=others, sold=sold)
            loaded = size
            loaded_in, started = time.perf_counter() - started, time.perf_counter()
            folded = tally_fold()  # what the periodic task would have done as the orders came
            folded_in, started = time.perf_counter() - started, time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            print(
                f"{connection.vendor}: {size:,} orders of one customer (+{size // 10:,} of 199 others), "
                f"loaded in {loaded_in:.0f} s, {folded:,} tally changes folded in {folded_in:.0f} s, "
                f"vacuumed in {time.perf_counter() - started:.0f} s, "
                f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}",
                flush=True,
            )
            results = measure(customer, owner, runs=args.runs)
            queries_by_size.append({name: queries for name, (queries, *_) in results.items()})
            for name, (queries, low, median, sql, cpu_low, cpu_median) in results.items():
                print(
                    f"  {name:<30} {queries:>3} queries  "
                    f"min {low * 1000:7.1f} ms  median {median * 1000:7.1f} ms  (SQL {sql * 1000:6.1f} ms)  "
                    f"CPU min {cpu_low * 1000:6.1f} median {cpu_median * 1000:6.1f} ms",
                    flush=True,
                )
            print(f"  load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}", flush=True)
    assert all(counts == queries_by_size[0] for counts in queries_by_size), "queries grew with the orders"


if __name__ == "__main__":
    main()
