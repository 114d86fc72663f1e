"""The provider simulator's state and behaviour: a whole API v2 provider panel in memory.

Plain Python (no Django), thread-safe behind one lock, so it runs inside a test process or as its own
server. ``handle()`` turns one request's form fields into a :class:`Reply`; the HTTP layer only moves
bytes. Orders move on a clock (``advance()``, or ``auto_step_seconds`` of real time).

Fates: an order completes unless its link contains ``partial`` (ends Partial with a third
undelivered) or ``cancel`` (ends Canceled), or :meth:`Simulator.set_fate` says otherwise. A refill is
rejected when its order's link contains ``reject``.

Drops: :meth:`Simulator.drop` takes units away from a completed order (accounts unfollow, likes vanish). With
``reports_drops`` (the default) its status answer counts them in ``remains`` again, as providers that recount
after completion do; without it the answer stays as it was at completion, as most providers' do. A refill
that completes puts them back.
"""

import itertools
import json
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote_plus

from panels.simulator.catalogue import SimService, generated_services, seed_services
from panels.simulator.faults import (
    CLOUDFLARE_PAGE,
    FAULT_KINDS,
    HOSTILE_ANSWERS,
    HTML_PAGE,
    Fault,
    hostile_answer,
)

DELAYS = {0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600}
FINAL = {"Completed", "Partial", "Canceled"}
MULTI_LIMIT = 100
STEPS_TO_FINISH = 3  # Pending → In progress → … → final

# How each canonical status may be spelled by a sloppier panel (DOMAIN §4.5).
_VARIANTS = {
    "Pending": ["pending", "Pending"],
    "In progress": ["Inprogress", "in-progress", "Processing"],
    "Completed": ["COMPLETE", "completed"],
    "Partial": ["partial", "PARTIAL"],
    "Canceled": ["Cancelled", "CANCELED"],
}


class Rejected(Exception):
    """An API error answer: ``{"error": message}``."""


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0  # wait this long before doing what follows
    drop: bool = False  # close the connection without any answer
    drip_seconds: float = 0.0  # send the whole answer, headers too, one byte per this many seconds


def _json_reply(data: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


@dataclass
class SimOrder:
    id: str
    service_id: int
    type: str
    fields: dict[str, str]
    link: str
    quantity: int  # units delivered in total (runs * quantity for drip-feed)
    charge: Decimal
    start_count: int
    status: str = "Pending"
    remains: int = 0
    fate: str = "completed"
    fate_remains: int | None = None
    cancel_requested: bool = False
    steps: int = 0
    runs: int | None = None
    runs_done: int = 0
    posts_limit: int | None = None
    posts_done: int = 0
    child_orders: list[str] = field(default_factory=list)
    dropped: int = 0  # units lost after completion (``Simulator.drop``)


@dataclass
class SimRefill:
    id: str
    order_id: str
    status: str = "Pending"
    steps: int = 0
    fate: str = "Completed"


class Simulator:
    def __init__(
        self,
        dialect: str = "smmcloud",
        *,
        api_key: str = "sim-key-0123456789abcdef",
        balance: Decimal | str = Decimal(1000),
        currency: str = "USD",
        extra_services: int = 0,
        auto_step_seconds: float = 0,
        reject_duplicate_links: bool = True,
        calls_per_minute: int = 0,
        # Data-shape quirks of real providers (DOMAIN §4), off by default.
        numbers_as_numbers: bool = False,
        opaque_ids: bool = False,
        flags_style: str = "bool",
        lowercase_types: bool = False,
        extra_fields: bool = False,
        dripfeed_flag: bool = False,
        status_spelling: str = "canonical",
        multi_bare_strings: bool = False,
        multi_missing_ids: bool = False,
        weird_counts: bool = False,
        provider_currency: str | None = None,
        key_in_header: bool = False,
        echo_key_in_errors: bool = False,
        partial_without_remains: bool = False,
        lines_split_everywhere: bool = False,
        reports_drops: bool = True,
        # Hostile answers: action → what its answer becomes after the action was processed. An object is
        # merged into the answer ({"add": {"error": "x"}}: an order id *and* an error); anything else
        # replaces it ({"add": [1]}).
        rewrite_answers: dict | None = None,
    ):
        self.dialect = dialect
        self.api_key = api_key
        self.currency = provider_currency or currency
        self.auto_step_seconds = auto_step_seconds
        self.reject_duplicate_links = reject_duplicate_links
        self.calls_per_minute = calls_per_minute
        self.numbers_as_numbers = numbers_as_numbers
        self.opaque_ids = opaque_ids
        self.flags_style = flags_style
        self.lowercase_types = lowercase_types
        self.extra_fields = extra_fields
        self.dripfeed_flag = dripfeed_flag
        self.status_spelling = status_spelling
        self.multi_bare_strings = multi_bare_strings
        self.multi_missing_ids = multi_missing_ids
        self.weird_counts = weird_counts
        self.key_in_header = key_in_header
        self.echo_key_in_errors = echo_key_in_errors
        self.partial_without_remains = partial_without_remains
        self.lines_split_everywhere = lines_split_everywhere
        self.reports_drops = reports_drops
        self.rewrite_answers = rewrite_answers or {}
        self._forgotten: dict[str, str] = {}
        self._lock = threading.RLock()
        self._balance = Decimal(balance)
        self._services: dict[int, SimService] = {s.id: s for s in seed_services(dialect)}
        self._removed: dict[int, SimService] = {}
        self._orders: dict[str, SimOrder] = {}
        self._refills: dict[str, SimRefill] = {}
        self._order_numbers = itertools.count(10001)
        self._refill_numbers = itertools.count(501)
        self._faults: list[Fault] = []
        self._faults_cleared = threading.Event()  # wakes the slow answers still waiting
        self._recent_calls: deque[float] = deque()
        self._last_tick = time.monotonic()
        self.calls: Counter[str] = Counter()
        if extra_services:
            self.add_services(extra_services)

    # --- inspection and control (tests, the control endpoints) ---------------------------------------

    @property
    def balance(self) -> Decimal:
        with self._lock:
            return self._balance

    def set_balance(self, amount: Decimal | str) -> None:
        with self._lock:
            self._balance = Decimal(amount)

    def orders(self) -> list[SimOrder]:
        """Every order this provider accepted — the proof that nothing was placed twice."""
        with self._lock:
            return list(self._orders.values())

    def refills(self) -> list[SimRefill]:
        """Every refill this provider accepted, as an operator sees them in its panel."""
        with self._lock:
            return list(self._refills.values())

    def order(self, order_id: str) -> SimOrder:
        with self._lock:
            return self._orders[str(order_id)]

    def services_list(self) -> list[dict]:
        """The catalogue exactly as the ``services`` action sends it."""
        with self._lock:
            return [self._service_record(service) for service in self._services.values()]

    def set_service(self, service_id: int | str, **changes) -> None:
        with self._lock:
            service = self._services[int(service_id)]
            for name, value in changes.items():
                setattr(service, name, Decimal(value) if name == "rate" else value)

    def remove_service(self, service_id: int | str) -> None:
        with self._lock:
            self._removed[int(service_id)] = self._services.pop(int(service_id))

    def restore_service(self, service_id: int | str) -> None:
        with self._lock:
            self._services[int(service_id)] = self._removed.pop(int(service_id))

    def add_services(self, count: int) -> list[int]:
        with self._lock:
            first = max([*self._services, *self._removed, 1000]) + 1
            added = generated_services(first, count)
            self._services.update((service.id, service) for service in added)
            return [service.id for service in added]

    def seed_orders(
        self,
        service_id: int,
        count: int,
        *,
        quantity: int = 100,
        status: str = "Pending",
        remains: int | None = None,
    ) -> list[str]:
        """Put ``count`` orders straight into the books, Pending unless ``status`` and ``remains`` say
        otherwise (benchmarks; no charge, no checks)."""
        with self._lock:
            ids = []
            for _ in range(count):
                order_id = str(next(self._order_numbers))
                self._orders[order_id] = SimOrder(
                    id=order_id,
                    service_id=service_id,
                    type="Default",
                    fields={},
                    link=f"https://seed/{order_id}",
                    quantity=quantity,
                    charge=Decimal(0),
                    start_count=0,
                    remains=quantity if remains is None else remains,
                    status=status,
                )
                ids.append(order_id)
            return ids

    def set_fault(
        self, kind: str, *, action: str | None = None, times: int | None = None, delay: float = 2.0
    ):
        """Switch a fault on, for every action or one, for the next ``times`` calls or until cleared."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        with self._lock:
            self._faults.append(Fault(kind=kind, action=action, times=times, delay=delay))

    def clear_faults(self) -> None:
        """Faults off; the slow answers still waiting are given at once."""
        with self._lock:
            self._faults.clear()
            self._faults_cleared.set()
            self._faults_cleared = threading.Event()

    def set_option(self, name: str, value: object) -> None:
        """Switch a data-shape quirk (a constructor option) at run time."""
        if name.startswith("_") or not hasattr(self, name) or callable(getattr(self, name)):
            raise ValueError(f"Unknown option {name!r}")
        with self._lock:
            setattr(self, name, value)

    def set_fate(self, order_id: str, fate: str, *, remains: int | None = None) -> None:
        if fate not in {"completed", "partial", "canceled"}:
            raise ValueError("fate is completed, partial or canceled")
        with self._lock:
            order = self._orders[str(order_id)]
            order.fate, order.fate_remains = fate, remains

    def drop(self, order_id: str, units: int) -> None:
        """Lower a completed order's delivered count by ``units`` (never below nothing delivered)."""
        with self._lock:
            order = self._orders[str(order_id)]
            if order.status != "Completed":
                raise ValueError("only a completed order drops")
            order.dropped = max(0, min(order.quantity, order.dropped + int(units)))

    def forget_order(self, order_id: str, how: str = "error") -> None:
        """Stop accounting for an order, as real panels do after a purge or a migration: its status is
        answered with ``"error"`` "Incorrect order ID" (``"call_error"``: a multi call asking for it alone
        is refused whole with it), left out of multi answers (``"missing"``), or given a status spelling
        nobody knows (``"unknown_status"``). ``"remember"`` undoes it."""
        if how not in {"error", "call_error", "missing", "unknown_status", "remember"}:
            raise ValueError("how is error, call_error, missing, unknown_status or remember")
        with self._lock:
            if how == "remember":
                self._forgotten.pop(str(order_id), None)
            else:
                self._forgotten[str(order_id)] = how

    def advance(self, steps: int = 1) -> None:
        """Move every open order and refill ``steps`` steps along."""
        with self._lock:
            for _ in range(steps):
                for order in self._orders.values():
                    self._step_order(order)
                for refill in self._refills.values():
                    self._step_refill(refill)

    def state(self) -> dict:
        with self._lock:
            return {
                "dialect": self.dialect,
                "balance": str(self._balance),
                "currency": self.currency,
                "services": len(self._services),
                "orders": len(self._orders),
                "refills": len(self._refills),
                "calls": dict(self.calls),
                "faults": [vars(fault) for fault in self._faults],
            }

    # --- the API --------------------------------------------------------------------------------------

    def handle(self, params: dict[str, str], headers: dict[str, str] | None = None) -> Reply:
        reply = self._handle(params, headers)
        if self.echo_key_in_errors:  # the key the caller sent, right or wrong
            return self._echoing_key(reply, params.get("key") or self.api_key)
        return reply

    def _handle(self, params: dict[str, str], headers: dict[str, str] | None) -> Reply:
        headers = {name.lower(): value for name, value in (headers or {}).items()}
        action = params.get("action", "")
        with self._lock:
            self.calls[action] += 1
            self._tick()
            if self._over_rate_limit():
                return Reply(429, b'{"error":"Too many requests"}', headers={"Retry-After": "60"})
            fault = self._take_fault(action)
            faults_cleared = self._faults_cleared
        if fault is not None and fault.kind == "slow":
            faults_cleared.wait(fault.delay)
        if fault is not None and (early := self._early_failure(fault)) is not None:
            return early  # the request never reached the panel's application
        with self._lock:
            try:
                if not self._authorised(params, headers):
                    raise Rejected("Invalid API key")
                answer = self._rewritten(action, self._dispatch(action, params))
                reply = _json_reply(answer)
            except Rejected as error:
                status = (
                    (401 if "API key" in str(error) else 400) if self._has_fault("error_http_4xx") else 200
                )
                reply = _json_reply({"error": str(error)}, status)
        return self._late_failure(fault, reply) if fault is not None else reply

    def _rewritten(self, action: str, answer: object) -> object:
        if action not in self.rewrite_answers:
            return answer
        rewrite = self.rewrite_answers[action]
        if isinstance(rewrite, dict) and isinstance(answer, dict):
            return {**answer, **rewrite}
        return rewrite

    def _dispatch(self, action: str, params: dict[str, str]) -> object:
        handlers = {
            "services": self._services_action,
            "add": self._add,
            "status": self._status,
            "refill": self._refill,
            "refill_status": self._refill_status,
            "cancel": self._cancel,
            "balance": self._balance_action,
        }
        if action not in handlers:
            raise Rejected("Incorrect request")
        return handlers[action](params)

    def _services_action(self, params):
        return [self._service_record(service) for service in self._services.values()]

    def _balance_action(self, params):
        return {"balance": self._money(self._balance), "currency": self.currency}

    def _add(self, params: dict[str, str]) -> dict:
        service = self._services.get(_int(params.get("service")))
        if service is None:
            raise Rejected("Incorrect service ID")
        fields = {k: v for k, v in params.items() if k not in {"key", "action", "service"}}
        quantity, charge, link = self._price(service, fields)
        if (
            self.reject_duplicate_links
            and link
            and any(
                order.link == link and order.service_id == service.id and order.status not in FINAL
                for order in self._orders.values()
            )
        ):
            raise Rejected("You have active order with this link. Please wait until order being completed.")
        if charge > self._balance:
            raise Rejected("Not enough funds on balance")
        self._balance -= charge
        number = next(self._order_numbers)
        order_id = f"ord_01HG{number:08X}" if self.opaque_ids else str(number)
        fate = "partial" if "partial" in link else "canceled" if "cancel" in link else "completed"
        order = SimOrder(
            id=order_id,
            service_id=service.id,
            type=service.type,
            fields=fields,
            link=link,
            quantity=quantity,
            charge=charge,
            start_count=1000 + number % 5000,
            remains=quantity,
            fate=fate,
            runs=_int(fields.get("runs")) or None,
            posts_limit=_int(fields.get("posts")) or None,
        )
        self._orders[order_id] = order
        return {"order": order_id if self.opaque_ids else int(order_id)}

    def _price(self, service: SimService, fields: dict[str, str]) -> tuple[int, Decimal, str]:
        """Validate an ``add`` for the service's type; return (units, charge, link)."""
        kind = service.type
        link = fields.get("link", "").strip()
        if kind == "Subscriptions":
            username = fields.get("username", "").strip()
            low, high = _int(fields.get("min")), _int(fields.get("max"))
            if not username or low is None or high is None or low > high:
                raise Rejected("Incorrect request")
            self._check_quantity(service, low)
            self._check_quantity(service, high)
            if _int(fields.get("delay")) not in DELAYS:
                raise Rejected("Incorrect request")
            if fields.get("expiry"):
                try:
                    datetime.strptime(fields["expiry"], "%d/%m/%Y")  # noqa: DTZ007 - a date, no time zone
                except ValueError:
                    raise Rejected("Incorrect request") from None
            posts = _int(fields.get("posts")) or 1
            return high * posts, self._cost(service.rate * high * posts / 1000), username
        if not re.match(r"^https?://\S+\.\S+", link):
            raise Rejected("Bad link")
        lines_field = {
            "Custom Comments": "comments",
            "Custom Comments Package": "comments",
            "Comment Replies": "comments",
            "Mentions Custom List": "usernames",
        }.get(kind)
        required = {
            "Comment Likes": "username",
            "Comment Replies": "username",
            "Invites from Groups": "groups",
            "Mentions User Followers": "username",
            "Poll": "answer_number",
            "Mentions": "usernames",
            "Mentions with Hashtags": "hashtags",
            "Mentions Hashtag": "hashtag",
            "Mentions Media Likers": "media",
            "SEO": "keywords",
        }.get(kind)
        if required and not fields.get(required, "").strip():
            raise Rejected("Incorrect request")
        if kind == "Mentions with Hashtags" and not fields.get("usernames", "").strip():
            raise Rejected("Incorrect request")
        if kind in {"Package", "Custom Comments Package"}:
            if lines_field and not _lines(fields.get(lines_field, "")):
                raise Rejected("Incorrect request")
            return 1, self._cost(service.rate), link
        if lines_field:
            quantity = len(_lines(fields.get(lines_field, ""), everywhere=self.lines_split_everywhere))
        else:
            quantity = _int(fields.get("quantity"))
            if quantity is None:
                raise Rejected("Incorrect request")
        self._check_quantity(service, quantity)
        runs = _int(fields.get("runs"))
        if runs is not None or fields.get("interval"):
            if not service.accepts_dripfeed or not runs or runs < 1 or not _int(fields.get("interval")):
                raise Rejected("Incorrect request")
            quantity *= runs
        return quantity, self._cost(service.rate * quantity / 1000), link

    def _status(self, params: dict[str, str]) -> object:
        if "orders" in params:
            ids = self._multi_ids(params["orders"])
            if len(ids) == 1 and self._forgotten.get(ids[0]) == "call_error":
                raise Rejected("Incorrect order ID")
            answer = {}
            for position, order_id in enumerate(ids):
                if self.multi_missing_ids and position % 3 == 2:
                    continue  # some panels silently leave ids out
                order = self._orders.get(order_id)
                forgotten = self._forgotten.get(order_id)
                if forgotten == "missing":
                    continue
                if order is None or forgotten in {"error", "call_error"}:
                    answer[order_id] = (
                        "Incorrect order ID" if self.multi_bare_strings else {"error": "Incorrect order ID"}
                    )
                elif self.multi_bare_strings and position % 3 == 1:
                    answer[order_id] = self._spell(order.status, order.id)
                else:
                    answer[order_id] = self._order_record(order)
            return answer
        order_id = params.get("order", "").strip()
        order = self._orders.get(order_id)
        if order is None or self._forgotten.get(order_id) in {"error", "call_error", "missing"}:
            raise Rejected("Incorrect order ID")
        return self._order_record(order)

    def _refill(self, params: dict[str, str]) -> object:
        if "orders" in params:
            answers = []
            for order_id in self._multi_ids(params["orders"]):
                try:
                    answers.append(
                        {"order": _wire_id(order_id), "refill": _wire_id(self._create_refill(order_id))}
                    )
                except Rejected as error:
                    answers.append({"order": _wire_id(order_id), "refill": {"error": str(error)}})
            return answers
        return {"refill": self._create_refill(params.get("order", "").strip())}

    def _create_refill(self, order_id: str) -> str:
        order = self._orders.get(order_id)
        if order is None:
            raise Rejected("Incorrect order ID")
        if not self._service_of(order).refill:
            raise Rejected("Refill is disabled for this service")
        if order.status not in {"Completed", "Partial"}:
            raise Rejected("Order is not completed yet")
        if any(
            r.order_id == order_id and r.status not in {"Completed", "Rejected"}
            for r in self._refills.values()
        ):
            raise Rejected("Refill already requested for this order")
        refill_id = str(next(self._refill_numbers))
        fate = "Rejected" if "reject" in order.link else "Completed"
        self._refills[refill_id] = SimRefill(id=refill_id, order_id=order_id, fate=fate)
        return refill_id

    def _refill_status(self, params: dict[str, str]) -> object:
        if "refills" in params:
            answers = []
            for refill_id in self._multi_ids(params["refills"]):
                refill = self._refills.get(refill_id)
                status = (
                    {"error": "Refill not found"} if refill is None else self._spell(refill.status, refill_id)
                )
                answers.append({"refill": _wire_id(refill_id), "status": status})
            return answers
        refill = self._refills.get(params.get("refill", "").strip())
        if refill is None:
            raise Rejected("Refill not found")
        return {"status": self._spell(refill.status, refill.id)}

    def _cancel(self, params: dict[str, str]) -> object:
        raw_ids = params.get("orders") or params.get("order")
        if not raw_ids:
            raise Rejected("Incorrect request")
        answers = []
        for order_id in self._multi_ids(raw_ids):
            order = self._orders.get(order_id)
            if order is None:
                outcome: object = {"error": "Incorrect order ID"}
            elif not self._service_of(order).cancel:
                outcome = {"error": "Cancel is disabled for this service"}
            elif order.status in FINAL:
                outcome = {"error": "Order can not be canceled"}
            else:
                order.cancel_requested = True
                outcome = 1
            answers.append({"order": _wire_id(order_id), "cancel": outcome})
        return answers

    # --- the clock --------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.auto_step_seconds <= 0:
            return
        elapsed = time.monotonic() - self._last_tick
        steps = int(elapsed // self.auto_step_seconds)
        if steps:
            self._last_tick += steps * self.auto_step_seconds
            self.advance(min(steps, 50))

    def _step_order(self, order: SimOrder) -> None:
        if order.status in FINAL:
            return
        order.steps += 1
        if order.cancel_requested or (order.fate == "canceled" and order.steps >= 2):
            self._finish(order, "Canceled", order.remains)
            return
        if order.type == "Subscriptions":
            order.status = "In progress"
            order.posts_done += 1
            order.child_orders.append(f"{order.id}-{order.posts_done}")
            if order.posts_limit and order.posts_done >= order.posts_limit:
                self._finish(order, "Completed", 0)
            return
        if order.runs:
            order.status = "In progress"
            order.runs_done = min(order.runs, order.runs_done + 1)
            order.child_orders.append(f"{order.id}-{order.runs_done}")
            order.remains = order.quantity - order.quantity * order.runs_done // order.runs
            if order.runs_done < order.runs:
                return
        if order.steps == 1 and not order.runs:
            order.status = "In progress"
            order.remains = order.quantity - order.quantity // 3
            return
        if order.steps >= STEPS_TO_FINISH - 1 or order.runs:
            if order.fate == "partial":
                undelivered = order.fate_remains if order.fate_remains is not None else order.quantity // 3
                self._finish(order, "Partial", undelivered)
            else:
                self._finish(order, "Completed", 0)

    def _finish(self, order: SimOrder, status: str, undelivered: int) -> None:
        order.status, order.remains = status, undelivered
        if status in {"Partial", "Canceled"} and order.quantity:
            # The provider refunds us the undelivered part of its charge.
            self._balance += self._cost(order.charge * undelivered / order.quantity)

    def _step_refill(self, refill: SimRefill) -> None:
        if refill.status in {"Completed", "Rejected"}:
            return
        refill.steps += 1
        refill.status = "In progress" if refill.steps == 1 else refill.fate
        if refill.status == "Completed":
            self._orders[refill.order_id].dropped = 0  # refilled

    # --- shapes of the answers --------------------------------------------------------------------

    def _service_record(self, service: SimService) -> dict:
        record: dict = {
            "service": service.id,
            "name": service.name,
            "type": service.type.lower() if self.lowercase_types else service.type,
            "category": service.category,
            "rate": float(service.rate) if self.numbers_as_numbers else str(service.rate),
            "min": service.min if self.numbers_as_numbers else str(service.min),
            "max": service.max if self.numbers_as_numbers else str(service.max),
        }
        if self.flags_style != "missing":
            # ``dripfeed`` is in neither seed document: only sent as a quirk, as many panels do.
            flags = {"refill": service.refill, "cancel": service.cancel}
            if self.dripfeed_flag:
                flags["dripfeed"] = service.accepts_dripfeed
            for flag, value in flags.items():
                record[flag] = ("1" if value else "0") if self.flags_style == "01" else value
        if service.desc:
            record["desc"] = service.desc
        if self.extra_fields:
            record.update({"average_time": "3 hours 12 minutes", "platform": service.category.split(" ")[0]})
        return record

    def _order_record(self, order: SimOrder) -> dict:
        start_count: object = str(order.start_count)
        remains = order.remains + (order.dropped if self.reports_drops else 0)
        if self.weird_counts:
            start_count = "" if order.status == "Pending" else None
            remains = -5 if order.status == "Completed" else order.quantity + 10
        record: dict = {
            "charge": self._money(order.charge),
            "start_count": start_count,
            "status": self._spell(order.status, order.id),
            "remains": remains if self.numbers_as_numbers else str(remains),
            "currency": self.currency,
        }
        if self._forgotten.get(order.id) == "unknown_status":
            record["status"] = "On hold (moderation)"
        if self.partial_without_remains and order.status in {"Partial", "Canceled"}:
            del record["remains"]  # finished short, and not a word about how short
        if order.runs:
            record.update({"runs": str(order.runs_done), "orders": list(order.child_orders)})
        if order.type == "Subscriptions":
            subscription = {"Pending": "Active", "In progress": "Active"}.get(order.status, order.status)
            record.update(
                {
                    "status": self._spell(subscription, order.id),
                    "posts": str(order.posts_done),
                    "expiry": order.fields.get("expiry") or None,
                    "orders": list(order.child_orders),
                }
            )
        return record

    def _spell(self, status: str, seed: str) -> str:
        variants = _VARIANTS.get(status)
        if self.status_spelling != "variants" or not variants:
            return status
        return variants[sum(map(ord, seed)) % len(variants)]

    def _money(self, amount: Decimal) -> object:
        text = str(amount.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP))
        return float(text) if self.numbers_as_numbers else text

    @staticmethod
    def _cost(amount: Decimal) -> Decimal:
        return amount.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)

    # --- helpers ----------------------------------------------------------------------------------

    def _authorised(self, params: dict[str, str], headers: dict[str, str]) -> bool:
        if params.get("key") == self.api_key:
            return True
        if not self.key_in_header:
            return False
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.api_key in {headers.get("x-api-key"), bearer}

    def _check_quantity(self, service: SimService, quantity: int | None) -> None:
        if quantity is None:
            raise Rejected("Incorrect request")
        if quantity < service.min:
            raise Rejected(f"Quantity less than minimal {service.min}")
        if quantity > service.max:
            raise Rejected(f"Quantity more than maximal {service.max}")

    def _multi_ids(self, raw: str) -> list[str]:
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if not ids or len(ids) > MULTI_LIMIT:
            raise Rejected("Incorrect request")
        return ids

    def _service_of(self, order: SimOrder) -> SimService:
        return self._services.get(order.service_id) or self._removed[order.service_id]

    def _over_rate_limit(self) -> bool:
        if not self.calls_per_minute:
            return False
        now = time.monotonic()
        while self._recent_calls and now - self._recent_calls[0] > 60:
            self._recent_calls.popleft()
        if len(self._recent_calls) >= self.calls_per_minute:
            return True
        self._recent_calls.append(now)
        return False

    def _take_fault(self, action: str) -> Fault | None:
        for fault in self._faults:
            if fault.kind == "error_http_4xx" or fault.action not in {None, action}:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _has_fault(self, kind: str) -> bool:
        return any(fault.kind == kind for fault in self._faults)

    @staticmethod
    def _echoing_key(reply: Reply, key: str) -> Reply:
        """``echo_key_in_errors``: a careless panel that quotes the caller's key in every error it sends —
        in ``{"error": …}`` texts (per id in multi answers too), in HTML error pages, and percent-encoded in
        a redirect target."""
        headers = dict(reply.headers)
        if "Location" in headers:
            headers["Location"] += "?key=" + quote_plus(key)
        if reply.content_type == "text/html":
            body = reply.body.replace(b"</body>", f"<p>Key: {key}</p></body>".encode())
        else:
            try:
                body = json.dumps(_with_key(json.loads(reply.body), key)).encode()
            except ValueError:  # empty or truncated on purpose
                body = reply.body
        return replace(reply, body=body, headers=headers)

    @staticmethod
    def _early_failure(fault: Fault) -> Reply | None:
        """Failures in front of the application (proxy, CDN, limiter): nothing was processed."""
        if fault.kind == "html":
            return Reply(200, HTML_PAGE, "text/html")
        if fault.kind == "cloudflare":
            return Reply(503, CLOUDFLARE_PAGE, "text/html")
        if fault.kind == "http_502":
            return Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if fault.kind == "redirect":
            return Reply(301, b"", "text/html", {"Location": "https://moved.example/api/v2"})
        if fault.kind == "rate_limit":
            return Reply(
                429, b"<html><body>Too Many Requests</body></html>", "text/html", {"Retry-After": "1"}
            )
        return None

    @staticmethod
    def _late_failure(fault: Fault, reply: Reply) -> Reply:
        """Failures after the application processed the request: it happened, the answer is lost."""
        if fault.kind == "http_500":
            return Reply(500, b'{"error":"Internal Server Error"}')
        if fault.kind == "empty":
            return Reply(200, b"")
        if fault.kind == "truncated":
            return Reply(200, reply.body[: max(1, len(reply.body) // 2)])
        if fault.kind == "accept_then_hang":
            return Reply(200, b"", hang_seconds=fault.delay, drop=True)
        if fault.kind == "accept_then_drop":
            return Reply(200, b"", drop=True)
        if fault.kind == "drip":
            return replace(reply, drip_seconds=fault.delay)
        if fault.kind in HOSTILE_ANSWERS:
            return replace(reply, body=hostile_answer(fault.kind, reply.body))
        return reply


def _with_key(answer: object, key: str) -> object:
    """Every ``{"error": …}`` text in ``answer`` with the key appended."""
    if isinstance(answer, list):
        return [_with_key(item, key) for item in answer]
    if isinstance(answer, dict):
        return {
            name: f"{value} (key {key})"
            if name == "error" and isinstance(value, str)
            else _with_key(value, key)
            for name, value in answer.items()
        }
    return answer


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _lines(text: str, *, everywhere: bool = False) -> list[str]:
    """A line per ``\\n`` (``\\r\\n``); ``everywhere``: per any line boundary (``\\r``, U+2028, …)."""
    parts = text.splitlines() if everywhere else re.split(r"\r?\n", text)
    return [line for line in parts if line.strip()]


def _wire_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value
