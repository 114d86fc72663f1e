"""What every local fake shares: an HTTP server on a loopback port, served by a daemon thread, started and
stopped by the test (``start()``/``stop()``, or ``with``)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOP_POLL_SECONDS = 0.01  # stop() waits up to this long for the serving thread


class FakeServer:
    """Subclasses pass their request handler; it reaches the fake as ``self.server.fake``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str, port: int):
        self._server = LoopbackServer((host, port), handler)
        self._server.fake = self

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name=type(self).__name__,
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeServer
