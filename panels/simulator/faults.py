"""Switchable failures of the simulator, each optionally scoped to one action and to the next N calls.

In front of the application (nothing is processed): ``html`` (a 200 HTML page), ``cloudflare`` (a 503
challenge page), ``http_502``, ``redirect`` (a 301 elsewhere), ``rate_limit`` (429 with Retry-After). After
the application processed the request (an ``add`` *did* happen, the answer is lost): ``http_500``, ``empty``,
``truncated``, ``accept_then_hang`` (no answer for ``delay`` seconds, then the connection drops),
``accept_then_drop``, ``drip`` (the whole answer, status line and headers too, one byte every ``delay``
seconds: each byte comes well within any read timeout).
Neither: ``slow`` (answer normally after ``delay`` seconds) and ``error_http_4xx`` (error answers
come with HTTP 400/401 instead of 200).
Hostile answers (processed, then answered with bytes no API document allows): ``deep_json`` (arrays nested
100,000 deep), ``huge_body`` (larger than any client should hold in memory), ``json_number_overflow`` (every
number ``1e999``), ``nan`` (every number ``NaN``) and ``invalid_utf8`` (names and messages with invalid
UTF-8, an escaped unpaired surrogate and a NUL: the answer is otherwise right).
"""

import re
from dataclasses import dataclass

HOSTILE_ANSWERS = frozenset({"deep_json", "huge_body", "json_number_overflow", "nan", "invalid_utf8"})
FAULT_KINDS = frozenset(
    {
        "html",
        "cloudflare",
        "http_502",
        "redirect",
        "rate_limit",
        "http_500",
        "empty",
        "truncated",
        "accept_then_hang",
        "accept_then_drop",
        "drip",
        "slow",
        "error_http_4xx",
        *HOSTILE_ANSWERS,
    }
)
HUGE_BODY_BYTES = 20 * 1024 * 1024
_NUMBERS = re.compile(rb'(?<=": )(?:"-?\d+(?:\.\d+)?"|-?\d+(?:\.\d+)?)')  # quoted or not
_TEXTS = re.compile(rb'("(?:name|error)": ")')
# Invalid UTF-8 (a stray byte, a surrogate encoded as UTF-8), then escapes of an unpaired surrogate and NUL.
_BAD_TEXT = b"\xff\xed\xa0\x80" + rb"\ud800\u0000"


def hostile_answer(kind: str, body: bytes) -> bytes:
    """The body the ``kind`` of hostile answer sends in place of ``body``."""
    if kind == "deep_json":
        return b"[" * 100_000 + b"]" * 100_000
    if kind == "huge_body":
        return b'{"error": "' + b"x" * HUGE_BODY_BYTES + b'"}'
    if kind == "json_number_overflow":
        return _NUMBERS.sub(b"1e999", body)
    if kind == "nan":
        return _NUMBERS.sub(b"NaN", body)
    return _TEXTS.sub(lambda match: match[1] + _BAD_TEXT, body)


@dataclass
class Fault:
    kind: str
    action: str | None = None  # None: every action
    times: int | None = None  # None: until cleared
    delay: float = 2.0  # seconds, for slow and accept_then_hang; between two bytes, for drip


HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Panel maintenance</title></head>
<body><h1>We'll be back soon</h1><p>The panel is under maintenance.</p></body></html>"""

CLOUDFLARE_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title></head>
<body><div id="cf-wrapper"><h1>Checking your browser before accessing the site.</h1>
<p>This process is automatic. Your browser will redirect to your requested content shortly.</p>
<p>DDoS protection by Cloudflare</p></div></body></html>"""
