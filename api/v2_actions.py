"""The actions of API v2, with exactly the answer shapes of the providers' documents (DOMAIN §1).

Ids are this panel's own; money and counts are strings; money is in the panel's currency; statuses use
the canonical spellings. Each action calls the same service functions as the website.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework.exceptions import APIException

from billing.money import money_text
from billing.services import InsufficientFunds, account_for
from catalogue.models import Service
from catalogue.orderable import service_orderable, services_on_sale
from catalogue.pricing import customer_prices
from orders.models import Order
from orders.order_types import ALL_FIELDS, dripfeed_allowed
from orders.refills import refill_request
from orders.selectors import order_rows_of, orders_of, refills_of
from orders.services import order_cancel, order_place
from reseller.numbers import whole_number

MULTI_LIMIT = 100
KNOWN_FIELDS = frozenset({"key", "action", "service", "order", "orders", "refill", "refills", *ALL_FIELDS})


class Refusal(APIException):
    """A refused call: answered as ``{"error": detail}``."""

    status_code = 200
    default_detail = "Incorrect request"


def _id_list(params: dict, single: str, multi: str, *, missing: str) -> tuple[list[str], bool]:
    """The ids asked for (as given) and whether the multi form was used."""
    if multi in params:
        ids = list(dict.fromkeys(part.strip() for part in params[multi].split(",") if part.strip()))
        if not ids:
            raise Refusal(missing)
        if len(ids) > MULTI_LIMIT:
            raise Refusal(f"Too many IDs: {MULTI_LIMIT} at most per call")
        return ids, True
    if params.get(single, "").strip():
        return [params[single].strip()], False
    raise Refusal(missing)


def _as_number(raw: str) -> int | str:
    """Ids are echoed as numbers, as the documents show them; what is not a number comes back as given."""
    number = whole_number(raw)
    return raw if number is None else number


def _numbers(ids: list[str]) -> dict[str, int]:
    # ASCII digits only: an Arabic-Indic or full-width "3" is no id (int() would read it as 3).
    return {raw: number for raw in ids if (number := whole_number(raw)) is not None}


def _by_id(queryset, ids: list[str]) -> dict[str, object]:
    wanted = _numbers(ids)
    found = queryset.in_bulk(set(wanted.values()))
    return {raw: found[pk] for raw, pk in wanted.items() if pk in found}


def _refusal_text(error: ValidationError) -> str:
    """The first problem, in the canonical wording where the protocol has one."""
    if not hasattr(error, "error_dict"):
        return error.messages[0]
    field, errors = next(iter(error.error_dict.items()))
    first = errors[0]
    if first.code == "min_quantity":
        return f"Quantity less than minimal {first.params['limit']}"
    if first.code == "max_quantity":
        return f"Quantity more than maximal {first.params['limit']}"
    if first.code == "bad_link":
        return "Bad link"
    message = next(iter(first))
    return message if field == "__all__" else f"{field}: {message}"


# --- actions ------------------------------------------------------------------------------------------


def balance(user, params: dict) -> dict:
    account = account_for(user)
    return {"balance": money_text(account.balance), "currency": account.currency}


def services(user, params: dict) -> list[dict]:
    on_sale = list(services_on_sale())
    prices = customer_prices(user=user, services=on_sale)
    return [
        {
            "service": service.pk,
            "name": service.name,
            "type": service.type,
            "category": service.category,
            "rate": money_text(prices[service.pk]),
            "min": str(limits.min_quantity),
            "max": str(limits.max_quantity),
            "refill": service.refill,
            "cancel": service.cancel,
            # Not in the two documents, but sent by most panels: whether runs/interval are accepted here.
            "dripfeed": dripfeed_allowed(service),
        }
        for service in on_sale
        if (limits := service_orderable(service))
    ]


# The protocol's words for a service that cannot be ordered: the unavailable one is worded so that panels
# reading this as their provider wait and retry rather than fail.
SERVICE_REFUSALS = {
    "service_unknown": "Incorrect service ID",
    "service_unavailable": "This service is temporarily unavailable, try again later",
}


def add(user, params: dict) -> dict:
    number = whole_number(params.get("service", ""))
    service = (
        Service.objects.select_related("provider_service__provider").filter(pk=number).first()
        if number is not None
        else None
    )
    if refusal := service_orderable(service).refusal:
        raise Refusal(SERVICE_REFUSALS[refusal.code])
    data = {name: params[name] for name in ALL_FIELDS if name in params}
    try:
        order = order_place(user=user, service=service, data=data, actor=user)
    except ValidationError as error:
        raise Refusal(_refusal_text(error)) from None
    except InsufficientFunds:
        raise Refusal("Not enough funds on balance") from None
    return {"order": order.pk}


STATUS_FIELDS = ("charge", "refunded", "start_count", "status", "remains", "units", "type", "provider_status")


def status_answer(order: Order) -> dict:
    return status_answers([order])[0]


def status_answers(orders) -> list[dict]:
    """Each order's answer to ``status`` (and its webhooks' payload); the currency read once for all."""
    currency = settings.PANEL_CURRENCY
    return [
        {
            # What the reseller paid us for it, after refunds: their cost, in our currency.
            "charge": money_text(order.charge - order.refunded),
            "start_count": str(order.start_count or 0),
            "status": order.public_status,
            "remains": str(order.remains_shown),
            "currency": currency,
        }
        for order in orders
    ]


class _StatusRow:
    """The columns of an order that a status answer reads, answered by the model's own properties: building a
    model instance per order cost more than the rest of a call for 100 ids."""

    __slots__ = STATUS_FIELDS
    Status, states = Order.Status, Order.states
    is_subscription, public_status, remains_shown = (
        Order.is_subscription,
        Order.public_status,
        Order.remains_shown,
    )

    def __init__(self, values):
        (
            self.charge,
            self.refunded,
            self.start_count,
            self.status,
            self.remains,
            self.units,
            self.type,
            self.provider_status,
        ) = values  # STATUS_FIELDS, unpacked at once (a setattr per field cost as much as the answer)


def status(user, params: dict) -> dict:
    ids, multi = _id_list(params, "order", "orders", missing="Incorrect order ID")
    wanted = _numbers(ids)
    rows = order_rows_of(user, set(wanted.values()), STATUS_FIELDS)
    answers = status_answers([_StatusRow(row[1:]) for row in rows])
    by_pk = dict(zip([row[0] for row in rows], answers, strict=True))
    found = {raw: by_pk[pk] for raw, pk in wanted.items() if pk in by_pk}
    if not multi:
        if ids[0] not in found:
            raise Refusal("Incorrect order ID")
        return found[ids[0]]
    unknown = {"error": "Incorrect order ID"}
    return {raw: found.get(raw, unknown) for raw in ids}


def _each_order(user, ids: list[str], do: Callable[[Order], object]) -> list[tuple[str, object]]:
    """``do`` for each of the caller's orders; a refusal answers for that order only."""
    found = _by_id(orders_of(user).select_related("service"), ids)
    outcomes = []
    for raw in ids:
        if raw not in found:
            outcomes.append((raw, {"error": "Incorrect order ID"}))
            continue
        try:
            outcomes.append((raw, do(found[raw])))
        except ValidationError as error:
            outcomes.append((raw, {"error": _refusal_text(error)}))
    return outcomes


def refill(user, params: dict) -> dict | list[dict]:
    ids, multi = _id_list(params, "order", "orders", missing="Incorrect order ID")
    outcomes = _each_order(user, ids, lambda order: refill_request(order=order, actor=user).pk)
    if not multi:
        outcome = outcomes[0][1]
        if isinstance(outcome, dict):
            raise Refusal(outcome["error"])
        return {"refill": str(outcome)}
    return [{"order": _as_number(raw), "refill": outcome} for raw, outcome in outcomes]


def refill_status(user, params: dict) -> dict | list[dict]:
    ids, multi = _id_list(params, "refill", "refills", missing="Refill not found")
    found = _by_id(refills_of(user), ids)
    if not multi:
        if ids[0] not in found:
            raise Refusal("Refill not found")
        return {"status": found[ids[0]].public_status}
    return [
        {
            "refill": _as_number(raw),
            "status": found[raw].public_status if raw in found else {"error": "Refill not found"},
        }
        for raw in ids
    ]


def cancel(user, params: dict) -> list[dict]:
    # The documents only show the multi form; a single ``order`` is answered the same way.
    ids, _ = _id_list(params, "order", "orders", missing="Incorrect order ID")

    def cancel_one(order: Order) -> int:
        order_cancel(order=order, actor=user)
        return 1

    return [
        {"order": _as_number(raw), "cancel": outcome} for raw, outcome in _each_order(user, ids, cancel_one)
    ]


ACTIONS: dict[str, Callable[[object, dict], object]] = {
    "services": services,
    "add": add,
    "status": status,
    "refill": refill,
    "refill_status": refill_status,
    "cancel": cancel,
    "balance": balance,
}
