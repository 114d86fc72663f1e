"""A local stand-in for Telegram's Bot API ``sendMessage``, over real HTTP on a loopback port.

``with FakeTelegram() as fake:`` then point ``TELEGRAM_API_URL`` at ``fake.url`` and give the panel
``fake.token`` and ``fake.chat_id``. It answers as Telegram does: ``{"ok": true, "result": {...}}`` for its
token and chat, 401 ``Unauthorized`` for another token, 400 ``chat not found`` for another chat, and
``fail_next`` answers with that HTTP status for the next N calls (a Telegram outage)."""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler

from tests.fakes.server import FakeServer, LoopbackServer

MAX_BODY = 100_000


class FakeTelegram(FakeServer):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0):
        self.token = f"{10**8 + secrets.randbelow(9 * 10**8)}:AA{secrets.token_urlsafe(24)}"
        self.chat_id = str(-100 * (10**10) - secrets.randbelow(10**9))
        self.messages: list[dict] = []  # what was delivered: {"chat_id", "text", …}
        self.calls: list[int] = []  # the HTTP status of every sendMessage call
        self.fail_next: list[int] = []  # statuses to answer the next calls with, in order
        self._lock = threading.Lock()
        super().__init__(_Handler, host=host, port=port)

    @property
    def url(self) -> str:
        return self.origin

    def answer(self, token: str, method: str, payload: dict) -> tuple[int, dict]:
        with self._lock:
            if self.fail_next:
                status = self.fail_next.pop(0)
                self.calls.append(status)
                return status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
            if token != self.token:
                status, answer = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            elif method != "sendMessage":
                status, answer = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            elif str(payload.get("chat_id")) != self.chat_id:
                status, answer = (
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                )
            elif not str(payload.get("text", "")).strip():
                status, answer = (
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"},
                )
            else:
                self.messages.append(payload)
                status = 200
                answer = {"ok": True, "result": {"message_id": len(self.messages), "text": payload["text"]}}
            self.calls.append(status)
            return status, answer


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            payload = {}
        # /bot<token>/<method>
        _, _, rest = self.path.partition("/bot")
        token, _, method = rest.partition("/")
        status, answer = self.server.fake.answer(token, method, payload if isinstance(payload, dict) else {})
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass
