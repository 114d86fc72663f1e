"""Every change of a ticket: opened, written in by either side, closed, reopened, assigned, noted, and the
order requests the staff carry out from it. The storefront and the console both call these.

Status moves go through ``reseller.states.transition`` (a ``TicketEvent`` each); every staff action writes an
audit row in its transaction; the customer hears of an answer by mail once it commits."""

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.services import audit_record
from notifications.customers import CustomerEvent, customer_events
from notifications.kinds import CustomerKind
from orders.models import Order
from orders.refills import refill_request
from orders.services import order_cancel
from reseller.ratelimits import within_rate
from reseller.states import transition
from support.attachments import attachment_checked, shown_name
from support.models import Attachment, InternalNote, Ticket, TicketEvent, TicketMessage
from support.signals import ticket_customer_wrote, ticket_opened

T = Ticket.Status

TOO_MANY_TICKETS = gettext_lazy(
    "You have opened many tickets in a short time: please wait a little, or write in one of them."
)
CLOSED_TICKET = gettext_lazy("This ticket is closed: reopen it to write again.")
NOT_YOUR_ORDER = gettext_lazy("Enter the ids of your own orders.")


def _attach(message: TicketMessage, files: Sequence) -> None:
    """Store ``files`` on ``message``, each checked by its content (a ValidationError refuses them all)."""
    if len(files) > settings.SUPPORT_ATTACHMENTS_PER_MESSAGE:
        raise ValidationError(
            _("Attach at most %(count)s files to a message.")
            % {"count": settings.SUPPORT_ATTACHMENTS_PER_MESSAGE}
        )
    checked = [(upload, attachment_checked(upload)) for upload in files]
    for upload, file_type in checked:
        name = shown_name(upload.name, file_type)
        attachment = Attachment(
            message=message, name=name, content_type=file_type.content_type, size=upload.size
        )
        # Stored under a name of the panel's choosing: the sender's name is only shown.
        attachment.file.save(f"{message.ticket_id}-{message.pk}.{file_type.extension}", upload, save=False)
        attachment.save()


def _message(*, ticket: Ticket, author, body: str, from_staff: bool, files: Sequence) -> TicketMessage:
    message = TicketMessage.objects.create(ticket=ticket, author=author, body=body, from_staff=from_staff)
    _attach(message, files)
    return message


def ticket_open(
    *,
    user,
    kind: str,
    subject: str,
    body: str,
    orders: Iterable[Order] = (),
    request: str = "",
    payment_method=None,
    transaction_id: str = "",
    files: Sequence = (),
) -> Ticket:
    """Open a ticket for ``user`` with its first message. Order tickets name the customer's own orders."""
    orders = list(orders)
    if any(order.user_id != user.pk for order in orders):
        raise ValidationError(NOT_YOUR_ORDER)
    if kind == Ticket.Kind.ORDER and not orders:
        raise ValidationError(_("Name the order(s) this is about."))
    if not within_rate(settings.SUPPORT_TICKETS_PER_CUSTOMER, "support-ticket", str(user.pk)):
        raise ValidationError(TOO_MANY_TICKETS)
    is_order, is_payment = kind == Ticket.Kind.ORDER, kind == Ticket.Kind.PAYMENT
    with transaction.atomic():
        ticket = Ticket.objects.create(
            user=user,
            kind=kind,
            subject=subject,
            request=request if is_order else "",
            payment_method=payment_method if is_payment else None,
            transaction_id=transaction_id if is_payment else "",
        )
        if is_order:
            ticket.orders.set(orders)
        _message(ticket=ticket, author=user, body=body, from_staff=False, files=files)
        TicketEvent.objects.create(ticket=ticket, to_status=ticket.status, message="Opened.", actor=user)
        ticket_opened.send(sender=Ticket, ticket=ticket)
    return ticket


def ticket_customer_reply(*, ticket: Ticket, user, body: str, files: Sequence = ()) -> TicketMessage:
    """The customer writes in their ticket: after an answer, it waits for the staff again."""
    if ticket.user_id != user.pk:
        raise ValidationError(_("This is not your ticket."))
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == T.CLOSED:
            raise ValidationError(CLOSED_TICKET)
        message = _message(ticket=ticket, author=user, body=body, from_staff=False, files=files)
        if ticket.status == T.ANSWERED:
            transition(ticket, T.CUSTOMER_REPLIED, message="The customer replied.", actor=user)
        else:
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
        ticket_customer_wrote.send(sender=Ticket, ticket=ticket)
    return message


def ticket_staff_reply(*, ticket: Ticket, actor, body: str, files: Sequence = ()) -> TicketMessage:
    """The staff answer: the ticket is the customer's turn, and they are mailed once this commits."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = ticket.status
        message = _message(ticket=ticket, author=actor, body=body, from_staff=True, files=files)
        if ticket.status != T.ANSWERED:
            transition(ticket, T.ANSWERED, message="Answered.", actor=actor)
        else:
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
        audit_record(
            actor=actor,
            verb="reply",
            target=ticket,
            changes={"status": [before, ticket.status]} if before != ticket.status else None,
        )
        _tell_customer(message)
    return message


def _tell_customer(message: TicketMessage) -> None:
    """Mail the customer the answer: recorded in the answer's transaction, sent by a worker once it commits
    (and again by the periodic check if the broker lost it)."""
    customer_events(
        [
            CustomerEvent(
                user_id=message.ticket.user_id,
                kind=CustomerKind.TICKET_ANSWERED,
                key=f"ticket_answered:{message.pk}",
                target_id=message.pk,
            )
        ]
    )


def ticket_close(*, ticket: Ticket, actor) -> None:
    """Close ``ticket``: by its customer, or by the staff (audited)."""
    by_customer = actor.pk == ticket.user_id
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)  # as it is now, not as a page showed it
        transition(
            ticket,
            T.CLOSED,
            message="Closed by the customer." if by_customer else "Closed by the staff.",
            actor=actor,
        )
        if not by_customer:
            audit_record(actor=actor, verb="close", target=ticket)


def ticket_reopen(*, ticket: Ticket, user) -> None:
    """The customer takes a closed ticket up again: it waits for the staff."""
    if ticket.user_id != user.pk:
        raise ValidationError(_("This is not your ticket."))
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        transition(ticket, T.OPEN, message="Reopened by the customer.", actor=user)
        ticket_customer_wrote.send(sender=Ticket, ticket=ticket)


def ticket_assign(*, ticket: Ticket, assignee, actor) -> None:
    """Give ``ticket`` to a staff member (None: to nobody)."""
    if assignee is not None and not assignee.is_staff:
        raise ValidationError(_("Tickets are assigned to staff members only."))
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = str(ticket.assignee) if ticket.assignee_id else None
        Ticket.objects.filter(pk=ticket.pk).update(assignee=assignee)
        audit_record(
            actor=actor,
            verb="assign",
            target=ticket,
            changes={"assignee": [before, str(assignee) if assignee else None]},
        )


def ticket_note_add(*, ticket: Ticket, actor, body: str) -> InternalNote:
    """An internal note: for the staff only, never shown to the customer or mailed."""
    with transaction.atomic():
        note = InternalNote.objects.create(ticket=ticket, author=actor, body=body)
        audit_record(actor=actor, verb="note", target=ticket, reason=body[:200])
    return note


# What the staff may carry out of an order ticket's requests: the same service functions the storefront,
# the APIs and the console call (their refusals are theirs).
CARRIED_OUT = {
    Ticket.Request.REFILL: lambda order, actor: (
        refill_request(order=order, actor=actor),
        "Refill requested.",
    )[1],
    Ticket.Request.CANCEL: lambda order, actor: order_cancel(order=order, actor=actor),
}


def ticket_request_carry_out(*, ticket: Ticket, order_id: int, action: str, actor) -> str:
    """Do what the ticket asks of one of its orders (a refill or a cancel); the outcome, or the refusal, is
    noted on the ticket. Returns the outcome; a ValidationError is the refusal."""
    if action not in CARRIED_OUT:
        raise ValidationError(_("Only refills and cancels are carried out from a ticket."))
    order = ticket.orders.select_related("service").filter(pk=order_id).first()
    if order is None:
        raise ValidationError(_("That order is not one of this ticket's."))
    label = Ticket.Request(action).label
    try:
        outcome = CARRIED_OUT[action](order, actor)
    except ValidationError as error:
        refusal = " ".join(error.messages)
        with transaction.atomic():
            InternalNote.objects.create(
                ticket=ticket, author=actor, body=f"{label} of order #{order.pk} refused: {refusal}"
            )
            audit_record(actor=actor, verb=action, target=ticket, reason=f"Order #{order.pk}: {refusal}")
        raise
    with transaction.atomic():
        InternalNote.objects.create(
            ticket=ticket, author=actor, body=f"{label} of order #{order.pk}: {outcome}"
        )
        audit_record(actor=actor, verb=action, target=ticket, reason=f"Order #{order.pk}: {outcome}")
    return outcome


def ticket_mark_read(*, ticket: Ticket) -> int:
    """The customer has seen the staff's messages in ``ticket``; how many were new."""
    return ticket.messages.filter(from_staff=True, read_at=None).update(read_at=timezone.now())
