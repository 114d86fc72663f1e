"""API v2 throughput: ``add`` and ``status`` (100 ids) under concurrent clients, against a bare Django view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller REDIS_URL=redis://127.0.0.1:6379/15 \\
        python -m bench.api_throughput [--clients 8] [--requests 400] [--workers 4]

The panel is served by gunicorn (sync workers) on a throwaway database; the same server answers a bare view
(``bench/bare``: a JSON body and nothing else). Reports requests per second, p50/p99 latency, the ratio of
the bare view's throughput to each action's, and SQL queries per call (which must not depend on the ids).
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from bench._django import benchmark_database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load(url: str, payloads, *, clients: int, total: int) -> dict:
    def worker(index: int) -> list[float]:
        session, latencies = requests.Session(), []
        for n in range(index, total, clients):
            started = time.perf_counter()
            response = session.post(url, data=payloads(n), timeout=60)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
            assert "error" not in response.json(), response.text[:300]
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(latency for batch in pool.map(worker, range(clients)) for latency in batch)
    elapsed = time.perf_counter() - started
    return {
        "rps": total / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    options = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

    with benchmark_database():
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from api.services import api_key_issue
        from billing.services import account_for, balance_deposit
        from catalogue.models import Service
        from catalogue.publishing import services_publish
        from panels.catalogue import catalogue_sync
        from panels.services import balance_sync, provider_upsert
        from panels.simulator import Simulator, SimulatorServer

        simulator = Simulator("smmcloud")
        with SimulatorServer(simulator) as server:
            provider, _ = provider_upsert(name="bench", api_url=server.url, api_key=simulator.api_key)
            balance_sync(provider=provider)
            catalogue_sync(provider=provider)
        services_publish(provider=provider, percent=Decimal(50))
        service = Service.objects.filter(provider_service__provider=provider, type="Default").first()
        user = User.objects.create_user("bench")
        balance_deposit(account=account_for(user), amount=Decimal("100000000"))
        _, key = api_key_issue(user=user)

        def add(n: int) -> dict:
            return {
                "key": key,
                "action": "add",
                "service": service.pk,
                "link": f"https://example.com/p/{n}",
                "quantity": service.min_quantity,
            }

        client = Client()
        ids = [client.post("/api/v2", add(n)).json()["order"] for n in range(100)]

        def status(n: int) -> dict:
            return {"key": key, "action": "status", "orders": ",".join(map(str, ids))}

        def queries(data: dict) -> int:
            with CaptureQueriesContext(connection) as captured:
                client.post("/api/v2", data)
            return len(captured)

        counted = {
            "add": {queries(add(10_000 + n)) for n in range(3)},
            "status, 1 id": {queries({"key": key, "action": "status", "order": ids[0]})},
            "status, 100 ids": {queries(status(0))},
        }
        database = connection.settings_dict["NAME"]
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("DATABASE_URL", "").rsplit("/", 1)[0] + f"/{database}",
            "DJANGO_SETTINGS_MODULE": "bench.settings",
        }
        connection.close()
        server_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "reseller.wsgi",
                "-w",
                str(options.workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    requests.post(f"{base}/bench/bare", timeout=5)
                    break
                except requests.RequestException:  # still booting
                    time.sleep(0.2)
            # Warm every worker's connection and caches before measuring.
            _load(f"{base}/bench/bare", lambda n: {}, clients=options.clients, total=options.clients * 4)
            _load(f"{base}/api/v2", status, clients=options.clients, total=options.clients * 4)
            results = {
                "bare Django view": _load(
                    f"{base}/bench/bare", lambda n: {}, clients=options.clients, total=options.requests
                ),
                "add": _load(
                    f"{base}/api/v2",
                    lambda n: add(20_000 + n),
                    clients=options.clients,
                    total=options.requests,
                ),
                "status, 100 ids": _load(
                    f"{base}/api/v2", status, clients=options.clients, total=options.requests
                ),
            }
        finally:
            os.killpg(server_process.pid, signal.SIGTERM)
            server_process.wait(timeout=30)

    bare = results["bare Django view"]["rps"]
    print(
        f"gunicorn {options.workers} sync workers, {options.clients} concurrent clients, "
        f"{options.requests} requests per endpoint"
    )
    print(f"{'endpoint':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'bare/this':>11}")
    for name, figures in results.items():
        print(
            f"{name:<18}{figures['rps']:>9.0f}{figures['p50']:>9.1f}{figures['p99']:>9.1f}"
            f"{bare / figures['rps']:>11.2f}"
        )
    print("SQL queries per call:", {name: sorted(counts) for name, counts in counted.items()})


if __name__ == "__main__":
    main()
