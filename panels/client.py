"""A client for the de-facto SMM "API v2" spoken by upstream provider panels.

A plain class with no ORM: form-encoded POSTs through ``requests`` with explicit (connect, read)
timeouts, typed results (``Decimal`` money, string ids) and one exception per *outcome*, because
the caller's next move depends on it:

* :class:`ProviderRejected` — the provider answered and said no (its message, and whether trying
  again later can help);
* :class:`ProviderUnavailable` — nothing reached the provider: safe to send again;
* :class:`ProviderOutcomeUnknown` — the request was sent but no valid answer came back. For ``add``
  the order may exist upstream: the caller must never send it again on its own.

Read-only actions are retried with backoff on both transient outcomes; ``add``, ``refill`` and
``cancel`` are retried only when nothing was sent.
"""

import html
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, quote_plus

import requests
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from panels.deadline import CallDeadline, DeadlineAdapter
from panels.normalize import (
    OrderStatus,
    RefillStatus,
    order_status,
    refill_status,
    service_type,
    stated_flag,
    to_decimal,
    to_flag,
    to_id,
    to_int,
)
from reseller.json_input import JsonRefused, json_parse

logger = logging.getLogger(__name__)

MULTI_LIMIT = 100  # ids per multi call, as the API documents
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a catalogue of 20,000 services is about 3 MB
MAX_AMOUNT = Decimal(10) ** 12  # money columns hold 20 digits, 8 of them decimals
AMOUNT_PLACES = Decimal(10) ** -8
EXCERPT_CHARS = 300

# Messages that mean "not now" rather than "never" (DOMAIN §5). Matched case-insensitively.
_RETRY_LATER_HINTS = (
    "not enough funds",
    "insufficient",
    "active order with this link",
    "too many requests",
    "rate limit",
    "try again",
    "temporarily",
    "maintenance",
)


REDACTED = "[key removed]"


def secret_redactor(secret: str) -> Callable[..., str]:
    """A function that removes ``secret`` from a text: verbatim, percent-encoded, or escaped the way raw JSON
    (PHP's ``\\/`` too) and HTML text write it, in any letter case.

    A hostile or careless provider may echo our key anywhere in what it sends (error texts, a redirect's
    query string, an HTML page), so every text built from its answer goes through this before it is
    stored or shown — the call log's excerpt of the raw body too. The whole key is replaced, never cut, so
    no part of it is left beside the marker. With ``broken_off=True`` (a raw body, which may have stopped
    mid-key when the connection broke), a start of the key that ends the text goes too.
    """
    if not secret:
        return lambda text, *, broken_off=False: text
    in_json = json.dumps(secret)[1:-1]
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), in_json, html.escape(secret)}
    forms = sorted(forms | {in_json.replace("/", "\\/")}, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, forms)), re.IGNORECASE)
    lowered = [form.lower() for form in forms]

    def redact(text: str, *, broken_off: bool = False) -> str:
        text = pattern.sub(REDACTED, text)
        if broken_off:  # the longest start of the key (4 characters or more) that ends the text
            tail = text[-len(forms[0]) :].lower()
            size = max(
                (n for form in lowered for n in range(4, len(form)) if tail.endswith(form[:n])), default=0
            )
            if size:
                text = text[:-size] + REDACTED
        return text

    return redact


class ProviderError(Exception):
    """Base of every failure of a provider call. ``str()`` is safe to show: it never holds the key (the
    client redacts every text it builds from the provider's answer)."""

    outcome = "error"

    def __init__(self, message: str, *, action: str = "", http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.action = action
        self.http_status = http_status
        # For chunked multi calls: what the chunks before the failing one answered.
        self.partial_results: dict[str, Any] = {}


class ProviderRejected(ProviderError):
    """The provider answered with an error: the request was understood and refused."""

    outcome = "rejected"

    def __init__(self, message: str, *, retry_later: bool = False, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_later = retry_later

    @property
    def is_auth_error(self) -> bool:
        return "api key" in self.message.lower()


class ProviderUnavailable(ProviderError):
    """Nothing was sent (or the provider refused before processing, like HTTP 429): safe to retry."""

    outcome = "unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(ProviderUnavailable):
    """Our own budget for this provider has no free call now (``retry_after`` says when one frees up).
    Never retried by the client, which would only wait: the caller comes back later."""


class ProviderOutcomeUnknown(ProviderError):
    """The request left, but no valid answer came back: a write may or may not have happened."""

    outcome = "unknown"


@dataclass(frozen=True)
class CallRecord:
    """What the client reports about each HTTP attempt, for the operator's call log."""

    action: str
    params: dict[str, str]  # the form fields without the key
    http_status: int | None
    duration_ms: int
    outcome: str  # "ok" or one of the ProviderError outcomes
    error: str
    response_excerpt: str


@dataclass(frozen=True)
class ItemError:
    """One id of a multi call that the provider answered with an error (or a bare message)."""

    message: str


@dataclass(frozen=True)
class RemoteService:
    remote_id: str
    name: str
    type: str
    category: str
    rate: Decimal
    min: int
    max: int
    refill: bool
    cancel: bool
    dripfeed: bool | None  # None: the answer did not say (the API v2 documents never do)
    description: str
    raw: dict


@dataclass(frozen=True)
class InvalidRecord:
    """A catalogue entry that could not be read; kept so a sync never mistakes it for vanished."""

    remote_id: str | None
    reason: str


@dataclass(frozen=True)
class Catalogue:
    services: list[RemoteService]
    invalid: list[InvalidRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class RemoteOrderStatus:
    status: OrderStatus
    raw_status: str
    charge: Decimal | None  # the provider's cost in *its* currency, never the customer's price
    currency: str
    start_count: int | None
    remains: int | None
    runs: int | None = None  # drip-feed: runs done (some panels: left)
    child_orders: tuple[str, ...] = ()
    posts: int | None = None  # subscriptions
    expiry: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteRefillStatus:
    status: RefillStatus
    raw_status: str


def means_try_later(message: str) -> bool:
    """True when an ``{"error": …}`` means "try again later" rather than a permanent refusal."""
    lowered = message.lower()
    return any(hint in lowered for hint in _RETRY_LATER_HINTS)


def _chunks(ids: Iterable[str], size: int = MULTI_LIMIT) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in ids:
        chunk.append(str(item))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _error_of(value: object) -> str | None:
    """The message of an error entry: ``{"error": "…"}``; None when the value is not an error."""
    if isinstance(value, dict) and "error" in value:
        return str(value["error"] or "Unknown error")
    return None


_WRITE_RESULTS = {"add": "order", "refill": "refill"}  # the field that carries what a write made
_NOT_CONNECTED = (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)
_READ_ONLY_ACTIONS = frozenset({"services", "status", "refill_status", "balance"})


class ProviderClient:
    """One provider endpoint and key. Thread-safe for reads; cheap to build per task."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        total_timeout: float | None = None,
        key_header: str = "",
        attempts: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        rate_limiter: Callable[[], None] | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        user_agent: str = "reseller-panel/1.0",
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ):
        self.api_url = api_url
        self._api_key = api_key
        self._redact = secret_redactor(api_key)
        self.timeout = (connect_timeout, read_timeout)
        # The read timeout bounds each wait for bytes; this bounds the whole call (a trickling provider).
        self.total_timeout = total_timeout or connect_timeout + 2 * read_timeout
        self.key_header = key_header
        self.attempts = max(1, attempts)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rate_limiter = rate_limiter
        self.on_call = on_call
        self.user_agent = user_agent
        self.max_answer_bytes = max_answer_bytes
        self._session = _session()

    def __repr__(self) -> str:  # never the key
        return f"<ProviderClient {self.api_url}>"

    # --- actions ---------------------------------------------------------------------------------

    def services(self) -> Catalogue:
        answer = self._call("services")
        if isinstance(answer, dict) and isinstance(answer.get("data"), list):
            answer = answer["data"]
        if not isinstance(answer, list):
            raise self._unexpected("services", "a list of services", answer)
        services, invalid = [], []
        for record in answer:
            parsed = _parse_service(record)
            (services if isinstance(parsed, RemoteService) else invalid).append(parsed)
        return Catalogue(services=services, invalid=invalid)

    def balance(self) -> Balance:
        answer = self._call("balance")
        amount = _amount(answer.get("balance")) if isinstance(answer, dict) else None
        if amount is None:
            raise self._unexpected("balance", "a balance", answer)
        return Balance(amount=amount, currency=_currency(answer.get("currency")))

    def add(self, service: str, **fields: object) -> str:
        """Place an order; returns the provider's order id. Fields as in DOMAIN §2 (None dropped)."""
        params = {"service": str(service)}
        params.update({name: _form_value(value) for name, value in fields.items() if value is not None})
        answer = self._call("add", params)
        order_id = _placed_id(answer.get("order")) if isinstance(answer, dict) else None
        if order_id is None:
            # The request was processed by *something*: the order may exist. Never guess.
            raise self._unexpected("add", "an order id", answer)
        return order_id

    def status(self, order_id: str) -> RemoteOrderStatus:
        answer = self._call("status", {"order": str(order_id)})
        parsed = _parse_order_status(answer)
        if parsed is None:
            raise self._unexpected("status", "an order status", answer)
        return parsed

    def statuses(self, order_ids: Iterable[str]) -> dict[str, RemoteOrderStatus | ItemError]:
        """Multi status, 100 ids a call. Ids the provider leaves out are absent from the result."""
        return self._multi("status", "orders", order_ids, _parse_multi_status)

    def refill(self, order_id: str) -> str:
        answer = self._call("refill", {"order": str(order_id)})
        value = answer.get("refill") if isinstance(answer, dict) else None
        if (message := _error_of(value)) is not None:
            raise ProviderRejected(message, retry_later=means_try_later(message), action="refill")
        refill_id = _placed_id(value)
        if refill_id is None:
            raise self._unexpected("refill", "a refill id", answer)
        return refill_id

    def refills(self, order_ids: Iterable[str]) -> dict[str, str | ItemError]:
        return self._multi("refill", "orders", order_ids, _parse_multi_refill)

    def refill_status(self, refill_id: str) -> RemoteRefillStatus:
        answer = self._call("refill_status", {"refill": str(refill_id)})
        value = answer.get("status") if isinstance(answer, dict) else None
        if (message := _error_of(value)) is not None:
            raise ProviderRejected(message, action="refill_status")
        if not isinstance(value, str):
            raise self._unexpected("refill_status", "a refill status", answer)
        return RemoteRefillStatus(status=refill_status(value), raw_status=value)

    def refill_statuses(self, refill_ids: Iterable[str]) -> dict[str, RemoteRefillStatus | ItemError]:
        return self._multi("refill_status", "refills", refill_ids, _parse_multi_refill_status)

    def cancel(self, order_ids: Iterable[str]) -> dict[str, bool | ItemError]:
        """Ask to cancel; ``True`` means *request accepted*, not canceled: keep polling the status."""
        return self._multi("cancel", "orders", order_ids, _parse_multi_cancel)

    # --- transport -----------------------------------------------------------------------------

    def _multi(self, action: str, field_name: str, ids: Iterable[str], parse: Callable) -> dict:
        results: dict = {}
        for chunk in _chunks(ids):
            try:
                answer = self._call(action, {field_name: ",".join(chunk)})
                parsed = parse(answer)
                if parsed is None:
                    raise self._unexpected(action, f"a multi-{action} answer", answer)
            except ProviderError as error:
                error.partial_results = results
                raise
            results.update({key: value for key, value in parsed.items() if key in chunk})
        return results

    def _call(self, action: str, params: dict[str, str] | None = None) -> Any:
        params = dict(params or {})
        retry_on = (
            (ProviderUnavailable, ProviderOutcomeUnknown)
            if action in _READ_ONLY_ACTIONS
            else (ProviderUnavailable,)  # a write that may have arrived is never sent twice
        )
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max),
            retry=retry_if_exception_type(retry_on) & retry_if_not_exception_type(RateLimited),
            reraise=True,
        )
        return retrying(self._attempt, action, params)

    def _attempt(self, action: str, params: dict[str, str]) -> Any:
        if self.rate_limiter is not None:
            self.rate_limiter()  # raises RateLimited when the budget has no free call now
        data = {"key": self._api_key, "action": action, **params}
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.key_header:  # a few providers read the key from a header (DOMAIN §4.11)
            bearer = self.key_header.lower() == "authorization"
            headers[self.key_header] = f"Bearer {self._api_key}" if bearer else self._api_key
        # Writes go over a fresh connection: a pooled keep-alive socket the server already closed
        # would fail *after* we wrote to it, turning a harmless retry into an "outcome unknown".
        session = self._session if action in _READ_ONLY_ACTIONS else _session()
        started = time.monotonic()
        response = None
        try:
            with CallDeadline(self.total_timeout) as deadline:
                try:
                    response = session.post(
                        self.api_url,
                        data=data,
                        headers=headers,
                        timeout=self.timeout,
                        allow_redirects=False,
                        stream=True,  # read by _read_body, which stops at max_answer_bytes
                    )
                    self._read_body(action, response)
                except (requests.RequestException, OSError):
                    if not deadline.expired:
                        raise
                if deadline.expired:  # what was read before the sockets were shut is not the answer
                    raise ProviderOutcomeUnknown(
                        f"The provider did not finish answering within {self.total_timeout:g} s.",
                        action=action,
                        http_status=response.status_code if response is not None else None,
                    )
            answer = self._interpret(action, response)
        except ProviderError as error:
            self._record(action, params, response, started, error.outcome, error.message)
            raise
        except requests.RequestException as exc:
            error = self._transport_error(action, exc)
            self._record(action, params, response, started, error.outcome, error.message)
            raise error from None  # the original may carry the request body, with the key
        finally:
            if session is not self._session:
                session.close()
        self._record(action, params, response, started, "ok", "")
        return answer

    def _read_body(self, action: str, response: requests.Response) -> None:
        """Read the answer into ``response.content``, refusing one larger than ``max_answer_bytes``: it is
        held in memory whole, and a hostile or broken provider could send gigabytes."""
        if response.encoding is None:
            response.encoding = "utf-8"  # JSON is UTF-8; never guess from gigabytes of bytes
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_answer_bytes:
                    response._content = chunks[0] if chunks else b""  # the call log quotes its start
                    response.close()
                    raise ProviderOutcomeUnknown(
                        f"The provider's answer is larger than {self.max_answer_bytes // (1024 * 1024)} MB; "
                        "it was not read.",
                        action=action,
                        http_status=response.status_code,
                    )
                chunks.append(chunk)
        except (requests.RequestException, OSError):
            response._content = b"".join(chunks)  # what came before the connection broke, for the call log
            raise
        response._content = b"".join(chunks)

    def _interpret(self, action: str, response: requests.Response) -> Any:
        status = response.status_code
        if status == 429:
            raise ProviderUnavailable(
                "The provider is rate limiting us (HTTP 429); nothing was processed.",
                retry_after=_retry_after(response),
                action=action,
                http_status=status,
            )
        if 300 <= status < 400:
            raise ProviderRejected(
                f"The provider redirects this URL (HTTP {status}) to "
                f"{self._redact(response.headers.get('Location', 'another address'))!r}: "
                "update the provider's API URL.",
                action=action,
                http_status=status,
            )
        text = response.text
        try:
            # Depth, NaN and 1e999 refused; unpaired surrogates and NULs (no database stores them) repaired.
            answer = json_parse(text, bad_text="repair") if text.strip() else None
        except JsonRefused as refused:
            kind = (
                "an HTML page"
                if "<html" in text[:2000].lower()
                else f"a body that is not usable JSON ({refused})"
            )
            raise ProviderOutcomeUnknown(
                f"The provider answered HTTP {status} with {kind} instead of the API's JSON"
                + (" (check the API URL)." if status == 404 else "."),
                action=action,
                http_status=status,
            ) from None
        answer = self._redacted(answer)  # everything below, and every caller, reads only this
        if answer is None:
            raise ProviderOutcomeUnknown(
                f"The provider answered HTTP {status} with an empty body.", action=action, http_status=status
            )
        if status >= 500:
            raise ProviderOutcomeUnknown(
                f"The provider failed with HTTP {status}.", action=action, http_status=status
            )
        if (message := _error_of(answer)) is not None:
            if _placed_id(answer.get(_WRITE_RESULTS.get(action, ""))) is not None:
                if not answer["error"]:  # {"order": 123, "error": null}: no error
                    return answer
                # An id *and* an error: the write may have happened. Neither refused nor accepted.
                raise ProviderOutcomeUnknown(
                    f"The provider answered with an id and an error ({message}).",
                    action=action,
                    http_status=status,
                )
            raise ProviderRejected(
                f"The provider said: {message}",
                retry_later=means_try_later(message),
                action=action,
                http_status=status,
            )
        if status >= 400:
            raise ProviderOutcomeUnknown(
                f"The provider answered HTTP {status} without an error message.",
                action=action,
                http_status=status,
            )
        return answer

    def _transport_error(self, action: str, exc: requests.RequestException) -> ProviderError:
        if isinstance(exc, requests.ConnectTimeout):
            return ProviderUnavailable(
                f"Could not connect to the provider within {self.timeout[0]} s; nothing was sent.",
                action=action,
            )
        if isinstance(exc, requests.ReadTimeout):
            return ProviderOutcomeUnknown(
                f"The provider did not answer within {self.timeout[1]} s.", action=action
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ProviderRejected("The provider's API URL is not a valid URL.", action=action)
        if isinstance(exc, requests.exceptions.SSLError):
            return ProviderUnavailable(
                "The TLS handshake with the provider failed; nothing was sent.", action=action
            )
        if isinstance(exc, requests.ConnectionError) and _never_connected(exc):
            return ProviderUnavailable(
                "Could not connect to the provider (refused or unknown host); nothing was sent.",
                action=action,
            )
        return ProviderOutcomeUnknown(
            f"The connection to the provider broke before an answer came ({type(exc).__name__}).",
            action=action,
        )

    def _unexpected(self, action: str, wanted: str, answer: object) -> ProviderOutcomeUnknown:
        return ProviderOutcomeUnknown(
            f"The provider's answer to {action!r} is not {wanted}: {self._redact(_excerpt(answer))}",
            action=action,
        )

    def _record(self, action, params, response, started, outcome: str, error: str) -> None:
        if self.on_call is None:
            return
        body = response.text if response is not None else ""
        record = CallRecord(
            action=action,
            params={name: self._redact(value) for name, value in params.items()},
            http_status=response.status_code if response is not None else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            outcome=outcome,
            error=self._redact(error),
            # Cut after redaction, so never half a key; a body that broke off mid-key loses that start too.
            response_excerpt=self._redact(body, broken_off=True)[:EXCERPT_CHARS],
        )
        try:
            self.on_call(record)
        except Exception:  # the call log must never turn a good call into a failed one
            logger.exception("Could not record a call to %s", self.api_url)

    def _redacted(self, answer: Any) -> Any:
        """The decoded answer with the key removed from every string in it (keys of objects too), so
        nothing read from it — statuses, error texts, names, excerpts — can carry the key on. Walked
        with a stack, not recursion: the answer may be nested as deep as the JSON parser allowed."""
        root = [answer]
        pending: list[tuple[Any, Any]] = [(root, 0)]
        while pending:
            container, slot = pending.pop()
            value = container[slot]
            if isinstance(value, str):
                container[slot] = self._redact(value)
            elif isinstance(value, list):
                pending.extend((value, index) for index in range(len(value)))
            elif isinstance(value, dict):
                if any(isinstance(name, str) and self._redact(name) != name for name in value):
                    items = [(self._redact(name), item) for name, item in value.items()]
                    value.clear()
                    value.update(items)
                pending.extend((value, name) for name in value)
        return root[0]


def _session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
    return session


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the socket never opened (refused, DNS failure): the request cannot have arrived."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, _NOT_CONNECTED):
            return True
        # urllib3 hides the cause in MaxRetryError.reason; requests in args[0].
        linked = (item.__cause__, item.__context__, getattr(item, "reason", None), *item.args)
        pending.extend(link for link in linked if isinstance(link, BaseException))
    return False


def _retry_after(response: requests.Response) -> float | None:
    value = to_decimal(response.headers.get("Retry-After"))
    return float(value) if value is not None else None


def _excerpt(answer: object) -> str:
    text = answer if isinstance(answer, str) else json.dumps(answer, default=str)
    return text[:120] + ("…" if len(text) > 120 else "")


def _amount(value: object) -> Decimal | None:
    """Money, or None when it is unreadable or beyond what any balance or charge can be (``"1e999"``, or
    ``"999999999999.999999999"``, which the columns round to 10^12)."""
    amount = to_decimal(value)
    if amount is None or amount.copy_abs() >= MAX_AMOUNT:
        return None
    stored = amount.quantize(AMOUNT_PLACES, rounding=ROUND_HALF_UP)
    return amount if stored.copy_abs() < MAX_AMOUNT else None


def _placed_id(value: object) -> str | None:
    """The id of what a write made; ``0`` is what some panels answer when they made nothing, or failed
    half way: not an id to follow."""
    placed = to_id(value)
    return placed if placed is not None and placed.strip("0") else None


def _currency(value: object) -> str:
    """A currency code (``USD``); anything else (a sentence, a surrogate) reads as not given."""
    code = str(value or "").strip().upper()
    return code if code.isascii() and code.isalpha() and len(code) <= 8 else ""


def _form_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _parse_service(record: object) -> RemoteService | InvalidRecord:
    if not isinstance(record, dict):
        return InvalidRecord(remote_id=None, reason=f"not an object: {_excerpt(record)}")
    remote_id = to_id(record.get("service", record.get("id")))
    if remote_id is None:
        return InvalidRecord(remote_id=None, reason=f"no service id: {_excerpt(record)}")
    rate = to_decimal(record.get("rate"))
    if rate is None or rate < 0:
        return InvalidRecord(remote_id=remote_id, reason=f"unreadable rate {record.get('rate')!r}")
    minimum = to_int(record.get("min"))
    maximum = to_int(record.get("max"))
    if minimum is None or maximum is None or minimum < 0 or maximum < minimum:
        return InvalidRecord(
            remote_id=remote_id, reason=f"unreadable min/max {record.get('min')!r}/{record.get('max')!r}"
        )
    return RemoteService(
        remote_id=remote_id,
        name=str(record.get("name") or f"Service {remote_id}").strip(),
        type=service_type(record.get("type")),
        category=str(record.get("category") or "").strip(),
        rate=rate,
        min=minimum,
        max=maximum,
        refill=to_flag(record.get("refill")),
        cancel=to_flag(record.get("cancel")),
        dripfeed=stated_flag(record.get("dripfeed")),
        description=str(record.get("desc") or record.get("description") or "").strip(),
        raw=record,
    )


def order_status_parse(answer: object) -> RemoteOrderStatus | None:
    """One order's status as API v2 answers it (an upstream panel's webhook carries the same fields)."""
    return _parse_order_status(answer)


def _parse_order_status(answer: object) -> RemoteOrderStatus | None:
    if not isinstance(answer, dict) or "status" not in answer or isinstance(answer["status"], dict | list):
        return None
    raw_status = str(answer.get("status") or "")
    children = answer.get("orders")
    return RemoteOrderStatus(
        status=order_status(raw_status),
        raw_status=raw_status,
        charge=_amount(answer.get("charge")),
        currency=_currency(answer.get("currency")),
        start_count=to_int(answer.get("start_count")),
        remains=to_int(answer.get("remains")),
        runs=to_int(answer.get("runs")),
        child_orders=tuple(filter(None, map(to_id, children))) if isinstance(children, list) else (),
        posts=to_int(answer.get("posts")),
        expiry=str(answer["expiry"]) if answer.get("expiry") else None,
        raw=answer,
    )


def _parse_multi_status(answer: object) -> dict[str, RemoteOrderStatus | ItemError] | None:
    if isinstance(answer, list):  # a few panels answer a list of {"order": id, …}
        answer = {str(to_id(item.get("order"))): item for item in answer if isinstance(item, dict)}
    if not isinstance(answer, dict):
        return None
    results: dict[str, RemoteOrderStatus | ItemError] = {}
    for key, value in answer.items():
        if (message := _error_of(value)) is not None:
            results[str(key)] = ItemError(message)
        elif isinstance(value, str):
            # A bare string is either a status spelling or an error message.
            status = order_status(value)
            results[str(key)] = (
                ItemError(value)
                if status is OrderStatus.UNKNOWN
                else RemoteOrderStatus(status, value, None, "", None, None, raw={"status": value})
            )
        else:
            parsed = _parse_order_status(value)
            results[str(key)] = parsed if parsed is not None else ItemError(f"unreadable: {_excerpt(value)}")
    return results


def _parse_multi_list(answer: object, id_field: str, value_field: str, read: Callable) -> dict | None:
    if not isinstance(answer, list):
        return None
    results = {}
    for item in answer:
        if not isinstance(item, dict) or to_id(item.get(id_field)) is None:
            continue
        value = item.get(value_field)
        message = _error_of(value)
        results[to_id(item[id_field])] = ItemError(message) if message is not None else read(value)
    return results


def _parse_multi_refill(answer: object) -> dict[str, str | ItemError] | None:
    return _parse_multi_list(
        answer, "order", "refill", lambda value: to_id(value) or ItemError(f"no refill id: {value!r}")
    )


def _parse_multi_refill_status(answer: object) -> dict[str, RemoteRefillStatus | ItemError] | None:
    return _parse_multi_list(
        answer, "refill", "status", lambda value: RemoteRefillStatus(refill_status(value), str(value))
    )


def _parse_multi_cancel(answer: object) -> dict[str, bool | ItemError] | None:
    return _parse_multi_list(
        answer, "order", "cancel", lambda value: to_flag(value) or ItemError(f"not accepted: {value!r}")
    )
