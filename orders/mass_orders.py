"""Mass orders: one ``service_id|link|quantity`` per line, each line placed (or refused) on its own."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing.services import InsufficientFunds
from catalogue.models import Service
from catalogue.orderable import service_orderable
from orders.models import Order
from orders.order_types import ORDER_TYPES
from orders.services import order_place
from panels.normalize import ServiceType
from reseller.numbers import whole_number

MASS_ORDER_MAX_LINES = 100
_SIMPLE = {"link", "quantity"}


@dataclass(frozen=True)
class MassOrderLine:
    number: int
    text: str
    order: Order | None = None
    error: str = ""


def _line_error(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return " ".join(error.messages)


def mass_order_place(*, user, text: str, actor=None) -> list[MassOrderLine]:
    """Place every valid line; a refused line costs nothing and does not stop the others."""
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise ValidationError({"orders": _("Write one order per line: service_id|link|quantity.")})
    if len(lines) > MASS_ORDER_MAX_LINES:
        raise ValidationError({"orders": _("At most %(max)s lines at once.") % {"max": MASS_ORDER_MAX_LINES}})
    rows = [(number, line, [part.strip() for part in line.split("|")]) for number, line in lines]
    wanted = {whole_number(parts[0]) for _, _, parts in rows} - {None}
    services = Service.objects.select_related("provider_service__provider").in_bulk(wanted)
    results = []
    for number, line, parts in rows:
        service_id = whole_number(parts[0]) if len(parts) == 3 else None
        if service_id is None:
            results.append(MassOrderLine(number, line, error=_("Write service_id|link|quantity.")))
            continue
        service = services.get(service_id)
        if refusal := service_orderable(service).refusal:
            error = _("Service #%(id)s: %(refusal)s") % {"id": service_id, "refusal": refusal.message}
            results.append(MassOrderLine(number, line, error=error))
            continue
        if not set(ORDER_TYPES.get(service.type, ORDER_TYPES[ServiceType.DEFAULT]).required) <= _SIMPLE:
            results.append(
                MassOrderLine(
                    number,
                    line,
                    error=_("%(type)s orders need more fields: use the order page.") % {"type": service.type},
                )
            )
            continue
        try:
            order = order_place(
                user=user, service=service, data={"link": parts[1], "quantity": parts[2]}, actor=actor
            )
        except ValidationError as error:
            results.append(MassOrderLine(number, line, error=_line_error(error)))
        except InsufficientFunds:
            results.append(MassOrderLine(number, line, error=_("Not enough funds on balance.")))
        else:
            results.append(MassOrderLine(number, line, order=order))
    return results


def mass_order_outcome(lines: list[MassOrderLine]) -> dict:
    """The results as JSON, kept so that the same form sent again shows them instead of placing again."""
    return {
        "lines": [
            {
                "number": line.number,
                "text": line.text,
                "order": line.order and line.order.pk,
                "error": line.error,
            }
            for line in lines
        ]
    }


def mass_order_lines(outcome: dict, *, orders) -> list[MassOrderLine]:
    """``mass_order_outcome`` read back, the placed orders taken from ``orders`` (the customer's own)."""
    placed = orders.in_bulk([line["order"] for line in outcome["lines"] if line["order"]])
    return [
        MassOrderLine(line["number"], line["text"], placed.get(line["order"]), line["error"])
        for line in outcome["lines"]
    ]
