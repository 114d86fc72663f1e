"""What the storefront and the console read about tickets."""

from django.db.models import Count, F, Prefetch, Q, QuerySet

from support.models import CannedReply, Ticket, TicketMessage

AWAITING_STAFF = Ticket.states.group("awaiting_staff")


def tickets_of(user) -> QuerySet[Ticket]:
    """A customer's tickets: the only ones any customer-facing code may reach."""
    return Ticket.objects.filter(user=user)


def tickets_listed(user) -> QuerySet[Ticket]:
    """The customer's tickets for their list: the last moved first, each with its count of unread answers."""
    unread = Count("messages", filter=Q(messages__from_staff=True, messages__read_at=None))
    return tickets_of(user).annotate(unread=unread).order_by("-updated_at", "-pk")


def unread_of(user) -> QuerySet[TicketMessage]:
    """The staff's messages to ``user`` that they have not seen."""
    return TicketMessage.objects.filter(ticket__user=user, from_staff=True, read_at=None)


def unread_count(user) -> int:
    return unread_of(user).count()


def tickets_awaiting_staff() -> QuerySet[Ticket]:
    """The queue: tickets whose customer waits for an answer, the longest waiting first."""
    return Ticket.objects.filter(status__in=AWAITING_STAFF).order_by(F("waiting_since").asc(nulls_last=True))


def tickets_awaiting_staff_count() -> int:
    return tickets_awaiting_staff().count()


def thread_of(ticket: Ticket) -> QuerySet[TicketMessage]:
    """The messages the customer and the staff share, oldest first, with their files."""
    return ticket.messages.select_related("author").prefetch_related("attachments")


def ticket_for_customer(user, pk: int) -> Ticket:
    """``user``'s ticket ``pk`` with its thread and orders (DoesNotExist for anyone else's)."""
    return (
        tickets_of(user)
        .select_related("payment_method")
        .prefetch_related(
            Prefetch("messages", queryset=thread_of_all(), to_attr="thread"),
            "orders",
        )
        .get(pk=pk)
    )


def thread_of_all() -> QuerySet[TicketMessage]:
    return TicketMessage.objects.select_related("author").prefetch_related("attachments")


def canned_replies() -> QuerySet[CannedReply]:
    return CannedReply.objects.all()
