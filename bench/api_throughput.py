"""API v2 throughput: ``add`` and ``status`` (100 ids) driven by ``wrk`` against gunicorn, beside a bare view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reseller REDIS_URL=redis://127.0.0.1:6379/15 \\
        python -m bench.api_throughput [--connections 32] [--seconds 10] [--runs 3] [--workers 4] [--keys 32]

The panel is served by gunicorn (sync workers) on a throwaway database; the same server answers a bare
view (``bench/bare``: a JSON body and nothing else). ``wrk`` (Debian's package: native, so the load generator
takes little of the cores a Python client would) posts form bodies through a Lua script, every ``add`` with a
link of its own: from one key (one reseller, whose orders all queue for its account's lock) and from
``--keys`` keys in turn (as many customers, each with funds). The bare view, the ``add``s and ``status`` are
measured in turn, ``--runs`` times, interleaved, so that every endpoint sees the same machine load. Reports
req/s, p50/p99 latency (min / median of the runs), each endpoint's throughput as a ratio to the bare view's
in the same run, SQL statements per call (which must not depend on the ids), and the load average.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench._django import benchmark_database

# Every request a form body of the endpoint's, every response checked: ``wrk`` itself only counts HTTP errors,
# and API v2 answers its refusals with 200. ``done`` prints one JSON line for this script to read.
WRK_SCRIPT = """
local bodies = %(bodies)s
local per_link = %(per_link)s
threads, counter, failures, last_failure = {}, 0, 0, ""  -- globals: done() reads them per thread
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local body = bodies[counter %% #bodies + 1]
  if per_link then
    body = body .. "&link=https%%3A%%2F%%2Fexample.com%%2Fp%%2F" .. id .. "-" .. counter
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) then
    failures = failures + 1
    last_failure = status .. " " .. string.sub(body, 1, 200)
  end
end

function done(summary, latency, requests)
  local failed, why = 0, ""
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
    if thread:get("last_failure") ~= "" then why = thread:get("last_failure") end
  end
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "p50": %%f, "p99": %%f, ' ..
    '"socket_errors": %%d, "failed": %%d, "why": "%%s"}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    failed, string.gsub(why, '["\\\\%%c]', "?")))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lua_string(text: str) -> str:
    return json.dumps(text)  # JSON's escapes are Lua's for these ASCII bodies


def _wrk(url: str, script: Path, *, connections: int, seconds: int) -> dict:
    """One ``wrk`` run; its figures, refusing a run in which any answer was an error."""
    run = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script), url],
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise SystemExit(f"wrk failed: {run.stderr or run.stdout}")
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    if figures["failed"] or figures["socket_errors"]:
        raise SystemExit(
            f"{url}: {figures['failed']} failed answers, {figures['socket_errors']} socket errors, "
            f"e.g. {figures['why']}"
        )
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def _wrk_installed() -> None:
    """Debian's wrk, installed with apt-get when this runs as root (as CI and the machines here do)."""
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("This bench needs wrk: sudo apt-get install wrk")
    print("Installing Debian's wrk…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keys", type=int, default=32, help="customers (API keys) the adds are spread over")
    options = parser.parse_args()
    _wrk_installed()
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
        keys = []
        for n in range(options.keys):
            user = User.objects.create_user(f"bench{n}")
            balance_deposit(account=account_for(user), amount=Decimal("100000000"))
            keys.append(api_key_issue(user=user)[1])
        add = {"action": "add", "service": service.pk, "quantity": service.min_quantity}

        client = Client()
        ids = [
            client.post("/api/v2", {**add, "key": keys[0], "link": f"https://example.com/p/{n}"}).json()[
                "order"
            ]
            for n in range(100)
        ]
        status = {"key": keys[0], "action": "status", "orders": ",".join(map(str, ids))}

        def statements(data: dict) -> int:
            with CaptureQueriesContext(connection) as captured:
                client.post("/api/v2", data)
            return len(captured)

        counted = {
            "add": {
                statements({**add, "key": keys[0], "link": f"https://example.com/q/{n}"}) for n in range(3)
            },
            "status, 1 id": {statements({"key": keys[0], "action": "status", "order": ids[0]})},
            "status, 100 ids": {statements(status)},
        }
        database = connection.settings_dict["NAME"]
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("DATABASE_URL", "").rsplit("/", 1)[0] + f"/{database}",
            "DJANGO_SETTINGS_MODULE": "bench.settings",
        }
        connection.close()
        scripts = Path(tempfile.mkdtemp(prefix="api-bench-"))
        endpoints = {}
        for name, path, bodies, per_link in [
            ("bare Django view", "/bench/bare", [""], False),
            ("add, 1 key", "/api/v2", [urlencode({**add, "key": keys[0]})], True),
            (f"add, {len(keys)} keys", "/api/v2", [urlencode({**add, "key": key}) for key in keys], True),
            ("status, 100 ids", "/api/v2", [urlencode(status)], False),
        ]:
            script = scripts / f"{len(endpoints)}.lua"
            script.write_text(
                WRK_SCRIPT
                % {
                    "bodies": "{" + ", ".join(map(_lua_string, bodies)) + "}",
                    "per_link": "true" if per_link else "false",
                }
            )
            endpoints[name] = (path, script)
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
            for path, script in endpoints.values():
                _wrk(base + path, script, connections=options.connections, seconds=2)
            runs, loads = {name: [] for name in endpoints}, []
            for _ in range(options.runs):
                loads.append(os.getloadavg()[0])
                for name, (path, script) in endpoints.items():
                    runs[name].append(
                        _wrk(base + path, script, connections=options.connections, seconds=options.seconds)
                    )
            loads.append(os.getloadavg()[0])
        finally:
            os.killpg(server_process.pid, signal.SIGTERM)
            server_process.wait(timeout=30)
            shutil.rmtree(scripts)

    bare = runs["bare Django view"]
    print(
        f"gunicorn {options.workers} sync workers; wrk 2 threads, {options.connections} connections, "
        f"{options.seconds} s per endpoint, {options.runs} interleaved runs; "
        f"load average (1 min) {min(loads):.1f} to {max(loads):.1f}"
    )
    print(
        f"{'endpoint':<18}{'req/s min/med':>16}{'p50 ms min/med':>18}{'p99 ms min/med':>18}{'this/bare':>16}"
    )

    def pair(values: list[float], digits: int) -> str:
        return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f}"

    for name, measured in runs.items():
        ratios = [run["rps"] / floor["rps"] for run, floor in zip(measured, bare, strict=True)]
        print(
            f"{name:<18}{pair([run['rps'] for run in measured], 0):>16}"
            f"{pair([run['p50'] for run in measured], 1):>18}{pair([run['p99'] for run in measured], 1):>18}"
            f"{pair(ratios, 3):>16}"
        )
    print("SQL statements per call:", {name: sorted(counts) for name, counts in counted.items()})
    print("load average at each round's start, then at the end:", " ".join(f"{load:.1f}" for load in loads))
    for name, measured in runs.items():
        print(
            f"{name}, each round: req/s (ratio to the bare view)",
            ", ".join(
                f"{run['rps']:.0f} ({run['rps'] / floor['rps']:.3f})"
                for run, floor in zip(measured, bare, strict=True)
            ),
        )


if __name__ == "__main__":
    main()
