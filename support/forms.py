"""The ticket forms of the storefront and the console. They shape the input and check the files early (a
clear error on the field); the rules are the services'."""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.models import PaymentMethod
from billing.topups import topup_methods
from orders.selectors import orders_of
from reseller.numbers import whole_number
from support.attachments import attachment_checked
from support.models import Ticket

ACCEPTED = "image/png,image/jpeg,image/gif,image/webp,application/pdf"
# How many orders one ticket may name.
MAX_ORDERS = 50


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to ``SUPPORT_ATTACHMENTS_PER_MESSAGE`` images or PDFs, each checked by its content."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED}))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            # Built when shown: "%" on a lazy string would translate it once, at import, in English.
            lazy(
                lambda: (
                    gettext("Images (PNG, JPEG, GIF, WebP) or PDF, up to %(count)s files.")
                    % {"count": settings.SUPPORT_ATTACHMENTS_PER_MESSAGE}
                ),
                str,
            )(),
        )
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data if isinstance(data, list | tuple) else [data]) if upload]
        if len(uploads) > settings.SUPPORT_ATTACHMENTS_PER_MESSAGE:
            raise ValidationError(
                _("Attach at most %(count)s files to a message.")
                % {"count": settings.SUPPORT_ATTACHMENTS_PER_MESSAGE}
            )
        files, errors = [], []
        for upload in uploads:
            try:
                files.append(super().clean(upload, initial))
                attachment_checked(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return files


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 6}), strip=True
    )
    files = AttachmentsField(label=_("Attachments"))


class TicketForm(MessageForm):
    """A new ticket. Which fields count depends on its type: order ids and a request for an order, the
    payment method and transaction id for a payment."""

    kind = forms.ChoiceField(label=_("About"), choices=Ticket.Kind.choices)
    subject = forms.CharField(label=_("Subject"), max_length=150)
    orders = forms.CharField(
        label=_("Order ids"),
        required=False,
        max_length=1000,
        help_text=_("One or more of your orders, separated by commas or spaces."),
    )
    request = forms.ChoiceField(
        label=_("Request"), required=False, choices=[("", "—"), *Ticket.Request.choices]
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), required=False)
    transaction_id = forms.CharField(
        label=_("Transaction id"),
        required=False,
        max_length=120,
        help_text=_("As your bank or the payment processor shows it."),
    )

    field_order = [
        "kind",
        "subject",
        "orders",
        "request",
        "payment_method",
        "transaction_id",
        "body",
        "files",
    ]
    # Which fields belong to which type (the page shows only the chosen type's).
    KIND_FIELDS = {
        Ticket.Kind.ORDER: ("orders", "request"),
        Ticket.Kind.PAYMENT: ("payment_method", "transaction_id"),
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["payment_method"].choices = [("", "—"), *topup_methods()]

    def clean_orders(self):
        text = self.cleaned_data["orders"]
        ids = []
        for part in re.split(r"[\s,;]+", text.replace("#", " ").strip()):
            if not part:
                continue
            number = whole_number(part)
            if number is None:
                raise ValidationError(_("Order ids are numbers, e.g. 1042, 1043."))
            if number not in ids:
                ids.append(number)
        if len(ids) > MAX_ORDERS:
            raise ValidationError(_("Name at most %(count)s orders.") % {"count": MAX_ORDERS})
        found = {order.pk: order for order in orders_of(self.user).filter(pk__in=ids)}
        # Another customer's order and no order at all read alike: nothing is told about others' orders.
        if missing := [number for number in ids if number not in found]:
            raise ValidationError(
                _("You have no order #%(id)s.") % {"id": ", #".join(str(number) for number in missing)}
            )
        return [found[number] for number in ids]

    def clean_payment_method(self):
        code = self.cleaned_data["payment_method"]
        return PaymentMethod.objects.filter(code=code).first() if code else None

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Ticket.Kind.ORDER:
            if "orders" in data and not data["orders"]:
                self.add_error("orders", _("Name the order(s) this is about."))
            if not data.get("request"):
                self.add_error("request", _("Choose what you ask for."))
        if kind == Ticket.Kind.PAYMENT:
            if not data.get("payment_method"):
                self.add_error("payment_method", _("Choose how you paid."))
            if not data.get("transaction_id", "").strip():
                self.add_error("transaction_id", _("Enter the payment's transaction id."))
        return data


class StaffReplyForm(MessageForm):
    canned = forms.ChoiceField(label=_("Canned reply"), required=False)
    body = forms.CharField(
        label=_("Reply"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text=_("Empty: the chosen canned reply is sent as it is."),
    )
    field_order = ["canned", "body", "files"]

    def __init__(self, *args, canned_replies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.canned_replies = {str(reply.pk): reply for reply in canned_replies}
        self.fields["canned"].choices = [
            ("", "—"),
            *((pk, reply.title) for pk, reply in self.canned_replies.items()),
        ]
        self.fields["canned"].widget.attrs["data-canned"] = "1"

    def clean(self):
        data = super().clean()
        if not data.get("body") and (reply := self.canned_replies.get(data.get("canned") or "")):
            data["body"] = reply.body
        if not data.get("body"):
            self.add_error("body", _("Write a reply, or choose a canned one."))
        return data


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Internal note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=None, required=False, empty_label="(nobody)"
    )

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = get_user_model().objects.filter(is_staff=True, is_active=True)


class CarryOutForm(forms.Form):
    order = forms.IntegerField(min_value=1, max_value=2**62)
    action = forms.ChoiceField(choices=[(Ticket.Request.REFILL, "Refill"), (Ticket.Request.CANCEL, "Cancel")])
