"""Support tickets: a customer's question, its thread with the staff, the staff's internal notes, the files
attached to messages, and the canned replies the staff answer with."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property
from django.utils.translation import pgettext_lazy

from reseller.states import StateTable


@deconstructible
class AttachmentStorage(FileSystemStorage):
    """Files under ``SUPPORT_ATTACHMENTS_DIR``, read when used (not at import): never under a public URL,
    served only by the views that check who asks (``support.views.attachment`` and the console's)."""

    @cached_property
    def base_location(self):
        return str(settings.SUPPORT_ATTACHMENTS_DIR)

    @cached_property
    def location(self):
        return os.path.abspath(self.base_location)

    @cached_property
    def base_url(self):
        return None

    def url(self, name):
        raise ValueError("Support attachments have no public URL.")


def attachment_storage() -> AttachmentStorage:
    # A fresh instance whenever files are touched, so a changed setting (tests) takes effect.
    return AttachmentStorage()


class Ticket(models.Model):
    class Kind(models.TextChoices):
        ORDER = "order", pgettext_lazy("ticket topic", "Order")
        PAYMENT = "payment", pgettext_lazy("ticket topic", "Payment")
        SERVICE = "service", pgettext_lazy("ticket topic", "Service")
        OTHER = "other", pgettext_lazy("ticket topic", "Other")

    class Request(models.TextChoices):
        """What a customer asks of an order ticket's orders."""

        REFILL = "refill", pgettext_lazy("ticket request", "Refill")
        CANCEL = "cancel", pgettext_lazy("ticket request", "Cancel")
        SPEED_UP = "speed_up", pgettext_lazy("ticket request", "Speed up")
        OTHER = "other", pgettext_lazy("ticket request", "Other")

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CUSTOMER_REPLIED = "customer_replied", "Customer replied"
        CLOSED = "closed", "Closed"

    class PublicStatus(models.TextChoices):
        """What the customer reads: whose turn it is."""

        WAITING = "waiting", pgettext_lazy("ticket status", "Waiting for support")
        ANSWERED = "answered", pgettext_lazy("ticket status", "Answered")
        CLOSED = "closed", pgettext_lazy("ticket status", "Closed")

    states = StateTable(
        Status,
        transitions={
            Status.OPEN: {Status.ANSWERED, Status.CLOSED},
            Status.ANSWERED: {Status.CUSTOMER_REPLIED, Status.CLOSED},
            Status.CUSTOMER_REPLIED: {Status.ANSWERED, Status.CLOSED},
            # The customer reopens (it waits for the staff again); the staff may answer a closed ticket.
            Status.CLOSED: {Status.OPEN, Status.ANSWERED},
        },
        # Closed is where a ticket rests, not an end: either side may take it up again.
        final=set(),
        public={
            Status.OPEN: PublicStatus.WAITING,
            Status.ANSWERED: PublicStatus.ANSWERED,
            Status.CUSTOMER_REPLIED: PublicStatus.WAITING,
            Status.CLOSED: PublicStatus.CLOSED,
        },
        named={"awaiting_staff": {Status.OPEN, Status.CUSTOMER_REPLIED}},
    )

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=150)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    # Order tickets: which of the customer's orders, and what they ask.
    orders = models.ManyToManyField("orders.Order", blank=True, related_name="tickets")
    request = models.CharField(max_length=16, choices=Request.choices, blank=True)
    # Payment tickets: how they paid, and the payment's id at the bank or processor.
    payment_method = models.ForeignKey(
        "billing.PaymentMethod", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transaction_id = models.CharField(max_length=120, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Since when the customer waits for the staff (the queue's age, oldest first); empty when it is the
    # customer's turn or the ticket is closed.
    waiting_since = models.DateTimeField(null=True, blank=True, db_index=True, default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return f"Ticket #{self.pk}: {self.subject}"

    @property
    def public_status(self) -> str:
        return self.states.public[self.status].label

    @property
    def awaits_staff(self) -> bool:
        return self.status in self.states.group("awaiting_staff")

    def on_transition(self, source: str, to: str) -> dict:
        now = timezone.now()
        fields = {"closed_at": now if to == self.Status.CLOSED else None}
        if to in self.states.group("awaiting_staff"):
            fields["waiting_since"] = now
        else:
            fields["waiting_since"] = None
        return fields

    def record_transition(self, *, source: str, message: str, public: str, actor, shown_before: str) -> None:
        TicketEvent.objects.create(
            ticket=self, from_status=source, to_status=self.status, message=message, actor=actor
        )


class TicketEvent(models.Model):
    """A ticket's history: each move of its status, who made it and why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    message = models.CharField(max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Event #{self.pk} of ticket #{self.ticket_id}"


class TicketMessage(models.Model):
    """One message of the thread the customer and the staff share. Internal notes are another model
    (``InternalNote``): nothing the customer's pages read can reach them."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_staff = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Staff messages: when the customer first saw it (the header's unread count is those without).
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["ticket"], condition=models.Q(from_staff=True, read_at=None), name="ticket_unread"
            )
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk} of ticket #{self.ticket_id}"


class Attachment(models.Model):
    """A file on a message: an image or a PDF by its content (``support.attachments``)."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(storage=attachment_storage, upload_to="%Y/%m/", max_length=255)
    name = models.CharField(max_length=150, help_text="As shown: the uploaded name, its type's extension.")
    content_type = models.CharField(max_length=40, help_text="As its content says, never as uploaded.")
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class InternalNote(models.Model):
    """The staff's words to each other about a ticket (and what was done from it): never shown to the
    customer, never mailed."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note #{self.pk} on ticket #{self.ticket_id}"


class CannedReply(models.Model):
    """A prepared answer the staff pick in a ticket's reply form and adapt."""

    title = models.CharField(max_length=80, unique=True)
    body = models.TextField()
    position = models.PositiveSmallIntegerField(default=0, help_text="Smaller first in the reply form.")

    class Meta:
        ordering = ["position", "title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title
