"""The customer's support pages: their tickets, a new ticket, a ticket's thread, and its files. Thin: the
services decide. Every lookup starts from the signed-in customer's own tickets, so anyone else's is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reseller.states import TransitionRefused
from support.forms import MessageForm, TicketForm
from support.models import Attachment, Ticket
from support.selectors import ticket_for_customer, tickets_listed
from support.services import (
    ticket_close,
    ticket_customer_reply,
    ticket_mark_read,
    ticket_open,
    ticket_reopen,
)

PAGE_SIZE = 25


def _refused(error: Exception) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@login_required
@require_GET
def tickets(request):
    page = Paginator(tickets_listed(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "support/tickets.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request):
    initial = {"kind": request.GET.get("kind", ""), "orders": request.GET.get("order", "")}
    if initial["orders"]:
        initial["kind"] = Ticket.Kind.ORDER
    form = TicketForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_open(
                user=request.user,
                kind=data["kind"],
                subject=data["subject"],
                body=data["body"],
                orders=data.get("orders") or [],
                request=data.get("request", ""),
                payment_method=data.get("payment_method"),
                transaction_id=data.get("transaction_id", ""),
                files=data["files"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(
                request, _("Ticket #%(number)s opened: we answer here and by mail.") % {"number": ticket.pk}
            )
            return redirect("support:ticket", pk=ticket.pk)
    return render(
        request,
        "support/new_ticket.html",
        {"form": form, "kind_fields": TicketForm.KIND_FIELDS, "files_again": form.is_bound and request.FILES},
    )


def _customer_ticket(request, pk: int) -> Ticket:
    try:
        return ticket_for_customer(request.user, pk)
    except Ticket.DoesNotExist:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def ticket_detail(request, pk: int):
    ticket = _customer_ticket(request, pk)
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                ticket_customer_reply(
                    ticket=ticket,
                    user=request.user,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["files"],
                )
            except (ValidationError, TransitionRefused) as error:
                form.add_error(None, _refused(error))
            else:
                messages.success(request, _("Your message was sent."))
                return redirect("support:ticket", pk=pk)
    else:
        ticket_mark_read(ticket=ticket)
    return render(
        request,
        "support/ticket.html",
        {"ticket": ticket, "form": form, "files_again": form.is_bound and request.FILES},
    )


@login_required
@require_POST
def ticket_close_view(request, pk: int):
    ticket = _customer_ticket(request, pk)
    try:
        ticket_close(ticket=ticket, actor=request.user)
    except TransitionRefused as error:
        messages.error(request, _refused(error))
    else:
        messages.success(request, _("Ticket closed. You can reopen it if you need us again."))
    return redirect("support:ticket", pk=pk)


@login_required
@require_POST
def ticket_reopen_view(request, pk: int):
    ticket = _customer_ticket(request, pk)
    try:
        ticket_reopen(ticket=ticket, user=request.user)
    except (ValidationError, TransitionRefused) as error:
        messages.error(request, _refused(error))
    else:
        messages.success(request, _("Ticket reopened."))
    return redirect("support:ticket", pk=pk)


def attachment_response(attachment: Attachment) -> FileResponse:
    """A stored file as its checked type, never sniffed or run by the browser: PDFs download, images show."""
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=not attachment.is_image,
        filename=attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def attachment(request, pk: int):
    found = Attachment.objects.filter(pk=pk, message__ticket__user=request.user).first()
    if found is None:
        raise Http404
    return attachment_response(found)
