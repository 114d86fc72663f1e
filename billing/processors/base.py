"""What every payment processor module gives the billing core: start a hosted payment, read a notification.

A processor module knows one processor's wire protocol and nothing of the database: the core decides what
a verified event does to a top-up and the ledger (``billing.topups``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class NotificationRefused(Exception):
    """A notification that is not the processor's, or not readable: a bad or missing signature, a stale
    timestamp, a malformed body. Nothing changes; the endpoint answers 400 and logs it (never the secret)."""


class ProcessorUnavailable(Exception):
    """Starting a payment failed (network, 5xx, refused credentials): the customer is asked to try again."""


@dataclass(frozen=True)
class Checkout:
    redirect_url: str  # where the customer's browser goes to pay
    reference: str  # the processor's id of this payment attempt (a Checkout Session, an invoice)


@dataclass(frozen=True)
class PaymentEvent:
    """One verified notification, in our terms."""

    event_id: str  # unique per notification content: a repeat is recognised and changes nothing
    kind: str  # one of KINDS
    topup_id: int | None  # our top-up, as we gave it to the processor; None when the event does not say
    reference: str  # the ``Checkout.reference`` it is about; "" when the event does not carry it
    payment_reference: str  # the processor's payment id: refunds and disputes name only this
    amount: Decimal  # paid: what arrived, in ``currency``, major units; refunded/disputed: what went back
    currency: str  # ISO 4217, upper case; "" when none
    raw_status: str  # the processor's own word, for the log


KINDS = ("pending", "paid", "partially_paid", "failed", "expired", "canceled", "refunded", "disputed")


class Processor(Protocol):
    name: str

    def start(
        self,
        *,
        topup_id: int,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        notify_url: str,
    ) -> Checkout:
        """Create the payment at the processor. Raises ``ProcessorUnavailable``."""

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> list[PaymentEvent]:
        """Verify the raw body's signature and read it. Raises ``NotificationRefused``."""
