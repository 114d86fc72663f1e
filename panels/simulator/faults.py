"""Switchable failures of the simulator, each optionally scoped to one action and to the next N calls.

In front of the application (nothing is processed): ``html`` (a 200 HTML page), ``cloudflare`` (a 503
challenge page), ``http_502``, ``rate_limit`` (429 with Retry-After). After the application processed
the request (an ``add`` *did* happen, the answer is lost): ``http_500``, ``empty``, ``truncated``,
``accept_then_hang`` (no answer for ``delay`` seconds, then the connection drops), ``accept_then_drop``.
Neither: ``slow`` (answer normally after ``delay`` seconds) and ``error_http_4xx`` (error answers
come with HTTP 400/401 instead of 200).
"""

from dataclasses import dataclass

FAULT_KINDS = frozenset(
    {
        "html",
        "cloudflare",
        "http_502",
        "rate_limit",
        "http_500",
        "empty",
        "truncated",
        "accept_then_hang",
        "accept_then_drop",
        "slow",
        "error_http_4xx",
    }
)


@dataclass
class Fault:
    kind: str
    action: str | None = None  # None: every action
    times: int | None = None  # None: until cleared
    delay: float = 2.0  # seconds, for slow and accept_then_hang


HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Panel maintenance</title></head>
<body><h1>We'll be back soon</h1><p>The panel is under maintenance.</p></body></html>"""

CLOUDFLARE_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title></head>
<body><div id="cf-wrapper"><h1>Checking your browser before accessing the site.</h1>
<p>This process is automatic. Your browser will redirect to your requested content shortly.</p>
<p>DDoS protection by Cloudflare</p></div></body></html>"""
