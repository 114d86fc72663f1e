"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that records what it is sent and
answers what the test tells it to."""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webhooks.models import Endpoint
from webhooks.services import endpoint_set


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """``answers``: (status, body, headers) per request in turn; the last one repeats."""

    def __init__(self):
        self.received: list[Received] = []
        self.answers: list[tuple[int, str, dict]] = [(200, "ok", {})]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(Received(self.path, dict(self.headers), body))
                status, text, headers = (
                    receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                )
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01})
        self.thread.daemon = True
        self.thread.start()

    def answer(self, *answers: tuple[int, str, dict] | int) -> None:
        self.answers = [(a, "", {}) if isinstance(a, int) else a for a in answers]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hook_for(user, url: str) -> tuple[Endpoint, str]:
    """``user``'s webhook at ``url``, and its secret."""
    endpoint, secret = endpoint_set(user=user, url=url)
    return endpoint, secret
