"""django-celery-beat's schedule pages, with the forms mended where posted garbage was a server error."""

from celery.schedules import ParseException, crontab
from django import forms
from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask

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


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    form = CrontabScheduleForm
