"""The operator console's pages with a large business behind them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller python -m bench.console [10000 100000]
        [--services 5000] [--repeat 3]

Two providers (the simulator's two seed dialects) whose catalogues are padded to ``--services`` services each,
N orders spread over the last 30 days in every status (1% needing review), then each console page fetched as
an Owner through Django's test client. Checks: SQL queries per page do not grow with N; reports the median
wall time per page.
"""

import argparse
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from bench._django import benchmark_database

PAGES = {
    "dashboard": "/admin/console/dashboard/",
    "dashboard, 90 days": "/admin/console/dashboard/?days=90",
    "review queue": "/admin/console/review/",
    "admin front page": "/admin/",
    "orders in the review queue": "/admin/orders/order/?needs_review=yes",
    "providers": "/admin/panels/provider/",
}
# How the orders of a working panel are spread over the statuses (weights).
STATUS_MIX = {
    "completed": 60,
    "partial": 8,
    "canceled": 5,
    "in_progress": 14,
    "pending": 6,
    "failed": 4,
    "waiting": 1,
    "needs_review": 1,
    "queued": 1,
}
NEVER_SENT = ("queued", "waiting", "needs_review", "failed")


def seed_shop(services: int):
    """Two providers with ``services`` services each, 200 customers and an Owner; returns the Owner, the
    customers and the services on sale."""
    from django.contrib.auth.models import Group, User

    from catalogue.models import Service
    from catalogue.publishing import services_publish
    from panels.catalogue import catalogue_sync
    from panels.models import ProviderService
    from panels.services import balance_sync, provider_upsert
    from panels.simulator import Simulator, SimulatorServer

    owner = User.objects.create_user("owner", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    customers = User.objects.bulk_create(User(username=f"customer{n}") for n in range(200))
    sold = []
    for dialect in ["smmcloud", "smmcool"]:
        simulator = Simulator(dialect)
        with SimulatorServer(simulator) as server:
            provider, _ = provider_upsert(name=dialect, api_url=server.url, api_key=simulator.api_key)
            balance_sync(provider=provider)
            catalogue_sync(provider=provider)
        services_publish(provider=provider, percent=Decimal(50))
        have = provider.services.count()
        ProviderService.objects.bulk_create(
            ProviderService(
                provider=provider,
                remote_id=f"pad-{n}",
                name=f"Padding service {n}",
                rate=Decimal("1.5"),
                min_quantity=10,
                max_quantity=10_000,
            )
            for n in range(max(0, services - have))
        )
        sold += Service.objects.filter(provider_service__provider=provider).select_related("provider_service")
    return owner, customers, sold


def seed_orders(count: int, *, first: int, customers, sold) -> None:
    """``count`` more orders over the last 30 days, numbered from ``first``."""
    from django.utils import timezone

    from orders.models import Order

    rng = random.Random(first)
    now = timezone.now()
    statuses, weights = zip(*STATUS_MIX.items(), strict=True)
    orders = []
    for n in range(first, first + count):
        service = rng.choice(sold)
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(seconds=rng.randrange(30 * 86400))
        charge = Decimal(rng.randrange(1, 5000)) / 1000
        orders.append(
            Order(
                user=rng.choice(customers),
                service=service,
                provider=service.provider_service.provider,
                provider_service=service.provider_service,
                type=service.type,
                link=f"https://example.com/p/{n}",
                fields={},
                units=100,
                price=service.price,
                charge=charge,
                refunded=charge if status in ("canceled", "failed") else Decimal(0),
                status=status,
                provider_order_id=None if status in NEVER_SENT else str(n),
                cost=(charge / 2).quantize(Decimal("0.0001")),
                cost_currency="USD",
                created_at=created,
                sent_at=created + timedelta(seconds=5),
                finished_at=created + timedelta(hours=2) if status == "completed" else None,
            )
        )
    Order.objects.bulk_create(orders, batch_size=5000)


def measure(owner, *, repeat: int) -> dict[str, tuple[int, float]]:
    """Each page's SQL queries and median wall time."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    client = Client()
    client.force_login(owner)
    results = {}
    for name, path in PAGES.items():
        walls, queries = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as executed:
                response = client.get(path)
            walls.append(time.perf_counter() - started)
            queries.append(len(executed))
            assert response.status_code == 200, (path, response.status_code)
        results[name] = (max(queries), statistics.median(walls))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    queries_by_size, seeded = [], 0
    with benchmark_database():
        from django.db import connection

        owner, customers, sold = seed_shop(args.services)
        for size in sorted(args.sizes):
            seed_orders(size - seeded, first=seeded, customers=customers, sold=sold)
            seeded = size
            results = measure(owner, repeat=args.repeat)
            queries_by_size.append({name: queries for name, (queries, _) in results.items()})
            print(f"{connection.vendor}: {size} orders, 2 providers x {args.services} services")
            for name, (queries, wall) in results.items():
                print(f"  {name:<28} {queries:>3} queries  {wall * 1000:8.1f} ms (median of {args.repeat})")
    assert all(counts == queries_by_size[0] for counts in queries_by_size), "queries grew with the orders"


if __name__ == "__main__":
    main()
