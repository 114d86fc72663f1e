"""Admin building blocks shared by the apps."""

import functools
from datetime import UTC, date

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from unfold import admin as unfold
from unfold.contrib.filters.admin import RangeDateTimeFilter as UnfoldRangeDateTimeFilter
from unfold.utils import parse_datetime_str

from reseller.states import TransitionRefused


class ModelAdmin(unfold.ModelAdmin):
    """The base of every console page (django-unfold's look: its widgets, list and form templates). The
    packages' own pages get the same base in ``console/admin.py``."""


class RangeDateTimeFilter(UnfoldRangeDateTimeFilter):
    """Unfold's from-to filter on a date and time, read in the operator's time zone, in which the console
    shows every time: unfold compares the naive date and time typed in, which Django takes for UTC."""

    def queryset(self, request, queryset):
        bounds = {}
        for end, lookup in (("from", "gte"), ("to", "lte")):
            day, time = (self.used_parameters.get(f"{self.parameter_name}_{end}_{part}") for part in (0, 1))
            if day and time:
                try:
                    # In UTC at once: the first and last days of the calendar overflow there in some zones.
                    moment = timezone.make_aware(parse_datetime_str(f"{day} {time}")).astimezone(UTC)
                except (TypeError, AttributeError, OverflowError):
                    return None  # as unfold: a date it cannot read leaves the list unfiltered
                bounds[f"{self.parameter_name}__{lookup}"] = moment
        return queryset.filter(**bounds)


class SingletonAdmin(ModelAdmin):
    """The page of a model with one row (settings): the row is made on first use, listed to open, and never
    added or deleted by hand. ``singleton`` returns it."""

    singleton = None  # staticmethod(a function returning the one row, made with its defaults when missing)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if self.has_view_or_change_permission(request):
            self.singleton()
        return super().changelist_view(request, extra_context)


class TabularInline(unfold.TabularInline):
    """The base of every table of rows under a record."""


class StackedInline(unfold.StackedInline):
    """The base of every form of a related record under its parent."""


class ReadOnlyAdmin(ModelAdmin):
    """Records written by the system (logs, ledgers): the operator reads them, never edits them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CustomerPageLink:
    """A change page of something one customer owns (their user, account, profile, prices, orders) leads to
    the console's customer page, where all of it is together: *Customer page* among the object tools."""

    customer_field = "user"  # the record's foreign key to its customer; "" for the user itself

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk and request.user.has_perm("auth.view_user"):
            customer_id = getattr(obj, f"{self.customer_field}_id") if self.customer_field else obj.pk
            context["customer_page_url"] = reverse("console:customer", args=[customer_id])
        return super().render_change_form(request, context, add, change, form_url, obj)


class ActionsOnlyAdmin(ModelAdmin):
    """Records that change only through their actions (the services behind them): every field read-only,
    nothing added or deleted, no save buttons. The change permission is what the actions ask for."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        no_saving = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **no_saving})

    # What the services raise when a record's state does not allow the operation.
    # What a service raises when the record's state does not allow the action: shown, never a 500.
    refused: tuple[type[Exception], ...] = (ValidationError, TransitionRefused)

    def act_on_each(self, request, queryset, operation, done: str) -> None:
        """Run ``operation`` on each selected record, with a message for each: done, or why it was refused."""
        name = self.model._meta.verbose_name.capitalize()
        for obj in queryset:
            try:
                operation(obj)
            except self.refused as error:
                why = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                self.message_user(request, f"{name} #{obj.pk}: {why}", messages.ERROR)
            else:
                self.message_user(request, f"{name} #{obj.pk}: {done}", messages.SUCCESS)


class ReadOnlyInline(TabularInline):
    """A history shown under its parent: every listed field read-only, nothing added, changed or removed —
    also when the posted form says otherwise (another row's id, a negative count of initial forms)."""

    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FiniteDecimalField(forms.DecimalField):
    """A decimal that is a number once read. Django reads "sNaN" and "Infinity" as Decimals and refuses them
    only when validating; compared before that — ``has_changed``, which formsets call on every extra form —
    a signalling NaN raises InvalidOperation: a server error."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not value.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


# For an editable inline's ``formfield_overrides`` (its extra forms are compared before they are validated).
FINITE_DECIMALS = {models.DecimalField: {"form_class": FiniteDecimalField}}


class ActionForm(forms.Form):
    """What an admin action asks before it runs; it sees the selected objects."""

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.queryset = queryset


def asks(
    form_class,
    *,
    title: str,
    submit: str,
    help: str = "",
    one_at_a_time: str = "",
    describe=None,
    preview=None,
):
    """Make an admin action ask its form first: it runs, with the valid form, once the form is posted back.

    ``title`` may name ``{count}`` (how many are selected) and ``{first}``; with ``one_at_a_time`` (the
    message), the action refuses a selection of more or fewer than one. ``describe(queryset)`` gives the
    lines that list the selection (each object's ``str`` otherwise). A ValidationError from the action
    (its service refused, and wrote nothing) shows the form again with the error, for the operator to
    change or confirm. ``preview(queryset, values)`` gives lines showing what the form's values would do
    (the form's initial values at first): a "Preview" button shows them again for changed values, without
    running the action.
    """

    def decorate(action):
        @functools.wraps(action)
        def asking(modeladmin, request, queryset):
            if one_at_a_time and queryset.count() != 1:
                modeladmin.message_user(request, one_at_a_time, messages.ERROR)
                return None
            form = form_class(request.POST if "confirmed" in request.POST else None, queryset=queryset)
            previewing = preview is not None and "_preview" in request.POST
            if form.is_bound and form.is_valid() and not previewing:
                try:
                    return action(modeladmin, request, queryset, form)
                except ValidationError as error:
                    form.add_error(None, error.messages)
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": title.format(count=queryset.count(), first=queryset.first()),
                "objects": queryset,
                "listing": describe(queryset) if describe else [str(obj) for obj in queryset],
                "form": form,
                "action": action.__name__,
                "submit": submit,
                "help": help,
                "opts": modeladmin.model._meta,
                "previews": preview is not None,
                "preview": preview(queryset, _values(form)) if preview is not None else [],
            }
            return render(request, "admin/action_form.html", context)

        return asking

    return decorate


def _values(form) -> dict:
    """The form's values to preview: as posted when valid, its initial ones before it is posted."""
    if form.is_bound:
        return form.cleaned_data if form.is_valid() else {}
    return {name: form.get_initial_for_field(field, name) for name, field in form.fields.items()}


class AdminInputCheckMiddleware:
    """Input that Django's admin crashes on instead of refusing is a 400, on every model page (third-party
    ones included):

    - an action posted with a selection that is not ids of the page's model (a tampered
      ``_selected_action``; the admin's own checkboxes never send one): the admin would crash in
      ``filter(pk__in=…)``;
    - a changelist's date hierarchy (``created_at__year=…``, ``__month``, ``__day``) that names no period the
      calendar holds (year 10^19, or any period of year 9999, whose end is past the calendar): the admin
      shows its "invalid lookup" page for a ValueError while building the period's start, but crashes on an
      OverflowError there and on any error building its end.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        model_admin = getattr(view_func, "model_admin", None)  # set by ModelAdmin.get_urls on its views
        if model_admin is None:
            return None
        if request.method == "POST" and not _selection_is_ids(request, model_admin.model._meta.pk):
            return HttpResponseBadRequest("The selection is not a list of ids.")
        if model_admin.date_hierarchy and not _period_in_calendar(request, model_admin.date_hierarchy):
            return HttpResponseBadRequest("The date is not one of the calendar.")
        return None


def _selection_is_ids(request, pk) -> bool:
    try:
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            pk.run_validators(pk.to_python(value))  # integer ids within the column's range too
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def _period_in_calendar(request, field: str) -> bool:
    year, month, day = (request.GET.getlist(f"{field}__{part}") for part in ("year", "month", "day"))
    if not year:
        return True
    try:
        start = date(int(year[-1]), int(month[-1]) if month else 1, int(day[-1]) if day else 1)
    except (ValueError, OverflowError):
        return False
    return start.year != date.max.year
