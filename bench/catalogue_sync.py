"""Catalogue sync of big catalogues: SQL queries must not grow with the number of services.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller python -m bench.catalogue_sync [500 5000]

For each size: the first sync (every service new), then a steady-state sync in which 1% of the
services changed price and 1% vanished. Prints queries and wall time of each, over real HTTP
against the simulator.
"""

import sys
import time
from decimal import Decimal

from bench._django import benchmark_database


def measure(size: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from panels.catalogue import catalogue_sync
    from panels.services import provider_upsert
    from panels.simulator import Simulator, SimulatorServer

    simulator = Simulator(dialect="full")
    simulator.add_services(size - len(simulator.services_list()))
    with SimulatorServer(simulator) as server:
        provider, _ = provider_upsert(
            name=f"bench-{size}", api_url=server.url, api_key=simulator.api_key, calls_per_minute=100_000
        )
        figures = {"services": size}
        for phase in ("first", "steady"):
            if phase == "steady":
                ids = [service["service"] for service in simulator.services_list()]
                for remote_id in ids[: size // 100]:
                    simulator.set_service(remote_id, rate=Decimal("9.87654321"))
                for remote_id in ids[-(size // 100) :]:
                    simulator.remove_service(remote_id)
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                result = catalogue_sync(provider=provider)
            figures[phase] = {
                "queries": len(queries),
                "seconds": round(time.perf_counter() - started, 3),
                "summary": result.summary(),
            }
    return figures


def main(sizes: list[int]) -> None:
    with benchmark_database():
        from django.db import connection

        print(f"database: {connection.vendor}")
        for size in sizes:
            figures = measure(size)
            for phase in ("first", "steady"):
                row = figures[phase]
                print(
                    f"{size:>6} services  {phase:<6}  {row['queries']:>3} queries  "
                    f"{row['seconds']:>7.3f} s   {row['summary']}"
                )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [500, 5000])
