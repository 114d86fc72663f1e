"""Tickets in the console: the queue (oldest waiting first), and each ticket's page with its thread, the
customer's orders, the reply form with canned replies, assignment, internal notes and the order requests
carried out from it. Every page posts to one service, which writes the audit row."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from console.roles import sees_providers
from console.templatetags.console import duration
from reseller.admin_tools import ActionsOnlyAdmin, ModelAdmin
from reseller.states import TransitionRefused
from support.forms import AssignForm, CarryOutForm, NoteForm, StaffReplyForm
from support.models import Attachment, CannedReply, Ticket
from support.selectors import AWAITING_STAFF, canned_replies
from support.services import (
    ticket_assign,
    ticket_close,
    ticket_note_add,
    ticket_request_carry_out,
    ticket_staff_reply,
)
from support.views import attachment_response


class AwaitingStaffFilter(admin.SimpleListFilter):
    title = "waiting for"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("staff", "The staff (open or customer replied)"), ("customer", "The customer (answered)")]

    def queryset(self, request, queryset):
        if self.value() == "staff":
            return queryset.filter(status__in=AWAITING_STAFF)
        if self.value() == "customer":
            return queryset.filter(status=Ticket.Status.ANSWERED)
        return queryset


@admin.register(Ticket)
class TicketAdmin(ActionsOnlyAdmin):
    list_display = ["id", "subject", "user", "kind", "status", "assignee", "waiting", "updated_at"]
    list_display_links = ["id", "subject"]
    list_filter = [
        AwaitingStaffFilter,
        "status",
        "kind",
        ("assignee", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["=id", "subject", "user__username", "transaction_id"]
    list_select_related = ["user", "assignee"]
    # The longest waiting first; then what moved last.
    ordering = [F("waiting_since").asc(nulls_last=True), "-updated_at"]
    fields = [
        "user",
        "kind",
        "subject",
        "status",
        "request",
        "payment_method",
        "transaction_id",
        "assignee",
        "created_at",
        "waiting_since",
        "closed_at",
    ]
    actions = []
    change_form_template = "admin/support/ticket/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="Waiting", ordering="waiting_since")
    def waiting(self, ticket):
        if ticket.waiting_since is None:
            return "—"
        return format_html("<strong>{}</strong>", duration(timezone.now() - ticket.waiting_since))

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(require_POST(function))

        return [
            path("<int:pk>/reply/", view(self.reply_view), name="support_ticket_reply"),
            path("<int:pk>/note/", view(self.note_view), name="support_ticket_note"),
            path("<int:pk>/assign/", view(self.assign_view), name="support_ticket_assign"),
            path("<int:pk>/close/", view(self.close_view), name="support_ticket_close"),
            path("<int:pk>/carry-out/", view(self.carry_out_view), name="support_ticket_carry_out"),
            path(
                "file/<int:pk>/",
                self.admin_site.admin_view(self.attachment_view),
                name="support_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    # --- the ticket's page --------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if ticket is not None:
            extra |= self._console_context(request, ticket)
        return super().change_view(request, object_id, form_url, extra)

    def _console_context(self, request, ticket, **forms) -> dict:
        replies = list(canned_replies())
        return {
            "ticket": ticket,
            "thread": ticket.messages.select_related("author").prefetch_related("attachments"),
            "notes": ticket.notes.select_related("author"),
            "events": ticket.events.select_related("actor"),
            "linked_orders": ticket.orders.select_related("service", "provider").order_by("pk"),
            "sees_providers": sees_providers(request.user),
            "can_act": self.has_change_permission(request, ticket),
            "reply_form": forms.get("reply_form") or StaffReplyForm(canned_replies=replies),
            "canned_texts": {str(reply.pk): reply.body for reply in replies},
            "note_form": NoteForm(),
            "assign_form": AssignForm(initial={"assignee": ticket.assignee_id}),
            "carry_out": ticket.kind == Ticket.Kind.ORDER
            and ticket.request in (Ticket.Request.REFILL, Ticket.Request.CANCEL),
        }

    # --- what the staff do from it ------------------------------------------------------------------------

    def _ticket_to_act_on(self, request, pk: int) -> Ticket:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Ticket, pk=pk)

    def _back(self, ticket):
        return redirect(reverse("admin:support_ticket_change", args=[ticket.pk]))

    def reply_view(self, request, pk):
        ticket = self._ticket_to_act_on(request, pk)
        form = StaffReplyForm(request.POST, request.FILES, canned_replies=canned_replies())
        if form.is_valid():
            try:
                ticket_staff_reply(
                    ticket=ticket,
                    actor=request.user,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["files"],
                )
            except (ValidationError, TransitionRefused) as error:
                form.add_error(None, _refused(error))
            else:
                self.message_user(
                    request, f"Ticket #{ticket.pk} answered: the customer is mailed.", messages.SUCCESS
                )
                return self._back(ticket)
        # The page again, with what was typed and why it was refused.
        self.message_user(request, "The reply was not sent: see below.", messages.ERROR)
        request.method = "GET"  # shown, not saved: the change form itself is read-only
        return super().change_view(
            request, str(ticket.pk), "", self._console_context(request, ticket, reply_form=form)
        )

    def note_view(self, request, pk):
        ticket = self._ticket_to_act_on(request, pk)
        form = NoteForm(request.POST)
        if form.is_valid():
            ticket_note_add(ticket=ticket, actor=request.user, body=form.cleaned_data["note"])
            self.message_user(request, "Note added (the customer never sees it).", messages.SUCCESS)
        else:
            self.message_user(request, "Write the note first.", messages.ERROR)
        return self._back(ticket)

    def assign_view(self, request, pk):
        ticket = self._ticket_to_act_on(request, pk)
        form = AssignForm(request.POST)
        if form.is_valid():
            assignee = form.cleaned_data["assignee"]
            try:
                ticket_assign(ticket=ticket, assignee=assignee, actor=request.user)
            except ValidationError as error:
                self.message_user(request, _refused(error), messages.ERROR)
            else:
                self.message_user(request, f"Assigned to {assignee or 'nobody'}.", messages.SUCCESS)
        else:
            self.message_user(request, "Choose a staff member.", messages.ERROR)
        return self._back(ticket)

    def close_view(self, request, pk):
        ticket = self._ticket_to_act_on(request, pk)
        try:
            ticket_close(ticket=ticket, actor=request.user)
        except TransitionRefused as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, f"Ticket #{ticket.pk} closed.", messages.SUCCESS)
        return self._back(ticket)

    def carry_out_view(self, request, pk):
        ticket = self._ticket_to_act_on(request, pk)
        form = CarryOutForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Choose an order of this ticket and what to do.", messages.ERROR)
            return self._back(ticket)
        try:
            outcome = ticket_request_carry_out(
                ticket=ticket,
                order_id=form.cleaned_data["order"],
                action=form.cleaned_data["action"],
                actor=request.user,
            )
        except ValidationError as error:
            self.message_user(
                request, f"Order #{form.cleaned_data['order']}: {_refused(error)}", messages.ERROR
            )
        else:
            self.message_user(request, f"Order #{form.cleaned_data['order']}: {outcome}", messages.SUCCESS)
        return self._back(ticket)

    def attachment_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        found = Attachment.objects.filter(pk=pk).first()
        if found is None:
            raise Http404
        return attachment_response(found)


def _refused(error: Exception) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@admin.register(CannedReply)
class CannedReplyAdmin(ModelAdmin):
    list_display = ["title", "position", "start"]
    search_fields = ["title", "body"]

    @admin.display(description="Begins with")
    def start(self, reply):
        return reply.body[:80]
