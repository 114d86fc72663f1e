"""The simulator over real HTTP: the API at ``/api/v2``, control endpoints under ``/_sim/``."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from panels.simulator.engine import Reply, Simulator

API_PATHS = {"/api/v2", "/api/v2/"}
MAX_BODY = 1_000_000
# How often the serving thread looks for a stop request: stop() waits up to this long (the standard 0.5 s,
# paid by every test that starts a simulator, added up to minutes).
STOP_POLL_SECONDS = 0.01


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path.startswith("/_sim/"):
            self._control(url.path, {})
        elif url.path in API_PATHS:
            self._api(dict(parse_qsl(url.query, keep_blank_values=True)))
        else:
            self._send(Reply(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html"))

    def do_POST(self):
        url = urlsplit(self.path)
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if url.path.startswith("/_sim/"):
            self._control(url.path, json.loads(body or "{}"))
        elif url.path in API_PATHS:
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(parse_qsl(body, keep_blank_values=True))
            self._api(params)
        else:
            self._send(Reply(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html"))

    def _api(self, params: dict[str, str]) -> None:
        reply = self.server.simulator.handle(params, dict(self.headers))
        if reply.hang_seconds:
            time.sleep(reply.hang_seconds)
        if reply.drop:
            self.close_connection = True
            return
        if reply.drip_seconds:
            self._drip(reply)
            return
        self._send(reply)

    def _control(self, path: str, data: dict) -> None:
        sim = self.server.simulator
        try:
            match path:
                case "/_sim/state":
                    answer: object = sim.state()
                case "/_sim/orders":
                    answer = [_order_json(order) for order in sim.orders()]
                case "/_sim/advance":
                    sim.advance(int(data.get("steps", 1)))
                    answer = {"ok": True}
                case "/_sim/fault":
                    sim.set_fault(
                        data["kind"],
                        action=data.get("action"),
                        times=data.get("times"),
                        delay=float(data.get("delay", 2.0)),
                    )
                    answer = {"ok": True}
                case "/_sim/clear":
                    sim.clear_faults()
                    answer = {"ok": True}
                case "/_sim/drop":
                    sim.drop(str(data["order"]), int(data["units"]))
                    answer = {"ok": True}
                case "/_sim/option":
                    sim.set_option(data["name"], data["value"])
                    answer = {"ok": True}
                case "/_sim/services":
                    answer = _mutate_services(sim, data)
                case _:
                    raise KeyError(path)
        except (KeyError, ValueError, TypeError) as error:
            self._send(Reply(400, json.dumps({"error": f"bad control request: {error}"}).encode()))
            return
        self._send(Reply(200, json.dumps(answer, default=str).encode()))

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(reply.body)
        except ConnectionError:  # the client stopped reading (a huge_body it refused)
            self.close_connection = True

    def _drip(self, reply: Reply) -> None:
        head = f"HTTP/1.1 {reply.status} OK\r\nContent-Type: {reply.content_type}\r\n"
        head += f"Content-Length: {len(reply.body)}\r\n\r\n"
        self.close_connection = True
        try:
            for byte in head.encode() + reply.body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(reply.drip_seconds)
        except OSError:  # the client gave up
            pass

    def log_message(self, format, *args):
        pass


def _order_json(order) -> dict:
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in vars(order).items()}


def _mutate_services(sim: Simulator, data: dict) -> dict:
    operation = data.get("operation")
    if operation == "set":
        sim.set_service(data["id"], **data.get("changes", {}))
    elif operation == "remove":
        sim.remove_service(data["id"])
    elif operation == "restore":
        sim.restore_service(data["id"])
    elif operation == "add":
        return {"added": sim.add_services(int(data.get("count", 1)))}
    else:
        raise ValueError("operation is set, remove, restore or add")
    return {"ok": True}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging fault must not hold up shutdown
    simulator: Simulator


class SimulatorServer:
    """``with SimulatorServer(Simulator()) as server: server.url`` — a provider on a loopback port."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0):
        self.simulator = simulator
        self._server = _Server((host, port), _Handler)
        self._server.simulator = simulator
        self._thread: threading.Thread | None = None

    @property
    def sim(self) -> Simulator:
        return self.simulator

    @property
    def key(self) -> str:
        return self.simulator.api_key

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def start(self) -> "SimulatorServer":
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name="simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SimulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
