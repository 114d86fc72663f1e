"""django-celery-beat's schedule pages, with the forms mended where posted garbage was a server error and
the task actions recorded in the audit trail."""

import functools

from celery.schedules import ParseException, crontab
from django import forms
from django.contrib import admin
from django.db import transaction
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audit.services import audit_changes, audit_record
from reseller.admin_tools import ModelAdmin, StackedInline, TabularInline

CRON_FIELDS = ["minute", "hour", "day_of_week", "day_of_month", "month_of_year"]


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def clean(self):
        if "task" not in self.cleaned_data:  # refused by its own field (too long, a NUL): already said why
            return self.cleaned_data
        return super().clean()


class CrontabScheduleForm(forms.ModelForm):
    """The page shows the schedule read by Celery: what Celery cannot read ("-NaN", which the model's own
    validators let through) is refused here, not found while the page is drawn."""

    class Meta:
        model = CrontabSchedule
        fields = [*CRON_FIELDS, "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Its callable default posts a hidden initial value, read as a file name by zoneinfo: "x" * 10000
        # raised OSError.
        self.fields["timezone"].show_hidden_initial = False

    def clean(self):
        cleaned = super().clean()
        for name in CRON_FIELDS:
            if name in cleaned:
                try:
                    crontab(**{name: cleaned[name]})
                except (ParseException, ValueError) as error:
                    # A field error also keeps the value off the instance the page draws.
                    self.add_error(name, f"Celery cannot read this: {error}")
        return cleaned


admin.site.unregister(PeriodicTask)
admin.site.unregister(CrontabSchedule)


def _audited(action):
    """One of django-celery-beat's task actions, with an audit row per selected task: what it did to the
    task's switch (running one now changes none)."""

    @functools.wraps(action)
    def audited(model_admin, request, queryset):
        enabled = dict(queryset.values_list("pk", "enabled"))
        with transaction.atomic():
            response = action(model_admin, request, queryset)
            for task in PeriodicTask.objects.filter(pk__in=enabled):
                changes = audit_changes({"enabled": enabled[task.pk]}, {"enabled": task.enabled})
                audit_record(actor=request.user, verb=action.__name__, target=task, changes=changes)
        return response

    return audited


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    form = PeriodicTaskForm
    enable_tasks = _audited(beat_admin.PeriodicTaskAdmin.enable_tasks)
    disable_tasks = _audited(beat_admin.PeriodicTaskAdmin.disable_tasks)
    toggle_tasks = _audited(beat_admin.PeriodicTaskAdmin.toggle_tasks)
    run_tasks = _audited(beat_admin.PeriodicTaskAdmin.run_tasks)


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    form = CrontabScheduleForm


def _themed_inline(inline):
    """A package's inline drawn like the panel's: itself with the console's inline base behind it."""
    if issubclass(inline, TabularInline | StackedInline):
        return inline
    base = StackedInline if issubclass(inline, admin.StackedInline) else TabularInline
    return type(inline.__name__, (inline, base), {})


# The packages' other pages (schedules, lockout logs, two-factor devices, groups) and their inlines drawn like
# the panel's: their own admin with the console's base behind it. Their apps come before this one: all are
# registered.
for _model, _model_admin in list(admin.site._registry.items()):
    _inlines = [_themed_inline(inline) for inline in _model_admin.inlines]
    if not isinstance(_model_admin, ModelAdmin) or _inlines != list(_model_admin.inlines):
        _bases = (
            (type(_model_admin),)
            if isinstance(_model_admin, ModelAdmin)
            else (type(_model_admin), ModelAdmin)
        )
        admin.site.unregister(_model)
        admin.site.register(_model, type(type(_model_admin).__name__, _bases, {"inlines": _inlines}))
