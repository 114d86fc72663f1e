"""Storefront forms. They shape and label the input; the rules are the services' (``order_place`` and
friends), whose per-field errors are put back on these fields."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from billing.topups import MAX_TOPUP, MIN_TOPUP, topup_methods
from catalogue.orderable import service_orderable
from orders.order_types import ORDER_TYPES, SUBSCRIPTION_DELAYS, dripfeed_allowed
from panels.normalize import ServiceType

_FIELDS = {
    "link": lambda: forms.CharField(
        label=_("Link"), widget=forms.URLInput(attrs={"placeholder": "https://"})
    ),
    "quantity": lambda: forms.IntegerField(label=_("Quantity"), min_value=1),
    "comments": lambda: forms.CharField(
        label=_("Comments"), widget=forms.Textarea(attrs={"rows": 5}), help_text=_("One per line.")
    ),
    "username": lambda: forms.CharField(label=_("Username")),
    "usernames": lambda: forms.CharField(
        label=_("Usernames"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("One per line.")
    ),
    "hashtags": lambda: forms.CharField(
        label=_("Hashtags"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("One per line.")
    ),
    "hashtag": lambda: forms.CharField(label=_("Hashtag")),
    "media": lambda: forms.CharField(label=_("Media link"), widget=forms.URLInput()),
    "groups": lambda: forms.CharField(
        label=_("Groups"), widget=forms.Textarea(attrs={"rows": 4}), help_text=_("One per line.")
    ),
    "keywords": lambda: forms.CharField(
        label=_("Keywords"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("One per line.")
    ),
    "answer_number": lambda: forms.IntegerField(label=_("Answer number"), min_value=1),
    "min": lambda: forms.IntegerField(label=_("Minimum per post"), min_value=1),
    "max": lambda: forms.IntegerField(label=_("Maximum per post"), min_value=1),
    "delay": lambda: forms.TypedChoiceField(
        label=_("Delay (minutes)"), coerce=int, choices=[(d, d) for d in SUBSCRIPTION_DELAYS]
    ),
}
_OPTIONAL = {
    "runs": lambda: forms.IntegerField(
        label=_("Runs"),
        min_value=2,
        required=False,
        help_text=_("Drip-feed: the quantity is delivered this many times."),
    ),
    "interval": lambda: forms.IntegerField(
        label=_("Interval (minutes)"),
        min_value=1,
        required=False,
        help_text=_("Drip-feed: minutes between runs."),
    ),
    "posts": lambda: forms.IntegerField(
        label=_("New posts"), min_value=1, required=False, help_text=_("Empty: the default number of posts.")
    ),
    "old_posts": lambda: forms.IntegerField(label=_("Existing posts"), min_value=0, required=False),
    "expiry": lambda: forms.CharField(
        label=_("Expiry (d/m/Y)"), required=False, widget=forms.TextInput(attrs={"placeholder": "31/12/2026"})
    ),
}


def order_form(service, data=None) -> forms.Form:
    """The form of ``service``'s order type: its fields (drip-feed when the service allows it)."""
    kind = ORDER_TYPES[service.type]
    form = forms.Form(data, prefix=None)
    for name in kind.required:
        form.fields[name] = _FIELDS[name]()
    if service.type == ServiceType.SUBSCRIPTIONS:
        for name in ("posts", "old_posts", "expiry"):
            form.fields[name] = _OPTIONAL[name]()
    if "quantity" in kind.required and dripfeed_allowed(service):
        for name in ("runs", "interval"):
            form.fields[name] = _OPTIONAL[name]()
    if "quantity" in form.fields:
        limits = service_orderable(service)
        form.fields["quantity"].help_text = _("From %(min)s to %(max)s.") % {
            "min": limits.min_quantity,
            "max": limits.max_quantity,
        }
    return form


def raw_order_data(form: forms.Form) -> dict[str, str]:
    """What the customer typed for the form's fields, as text: the services check it."""
    return {name: form.data.get(name, "") for name in form.fields}


def put_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's ``ValidationError`` shown next to the fields it names."""
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class MassOrderForm(forms.Form):
    orders = forms.CharField(
        label=_("Orders"),
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "12|https://instagram.com/p/abc|1000"}),
        help_text=_("One order per line: service_id|link|quantity (at most 100 lines)."),
    )


class TopUpForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=MIN_TOPUP, max_value=MAX_TOPUP, decimal_places=2)
    method = forms.ChoiceField(label=_("Payment method"), choices=topup_methods, widget=forms.RadioSelect)
    reference = forms.CharField(
        label=_("Payment reference"),
        required=False,
        max_length=120,
        help_text=_("Manual payments: the reference of your bank transfer, so we can match it."),
    )
