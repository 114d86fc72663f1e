"""The console's notification pages: the operator's settings (one row, the Owner's; every save audited by
``audit.admin.AuditedAdmin``, the bot token recorded as changed, never its value), the alerts with their
quiet periods, and the log of customer notifications."""

from django import forms
from django.contrib import admin

from notifications.kinds import OperatorKind
from notifications.models import Notification, OperatorAlert, OperatorSettings
from notifications.operators import operator_settings, operator_test_message
from reseller.admin_tools import ReadOnlyAdmin, SingletonAdmin


class OperatorSettingsForm(forms.ModelForm):
    email_kinds = forms.MultipleChoiceField(
        label="By email",
        choices=OperatorKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    telegram_kinds = forms.MultipleChoiceField(
        label="By Telegram",
        choices=OperatorKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    telegram_bot_token = forms.CharField(
        label="Telegram bot token",
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    forget_token = forms.BooleanField(label="Remove the stored bot token", required=False)

    class Meta:
        model = OperatorSettings
        fields = [
            "email_kinds",
            "email_to",
            "telegram_kinds",
            "telegram_bot_token",
            "telegram_chat_id",
            "quiet_minutes",
            "error_rate_percent",
            "error_min_calls",
            "review_queue_threshold",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.telegram_bot_token
        self.fields["telegram_bot_token"].help_text = (
            f"Stored: ••••{stored[-4:]}. Leave empty to keep it, or type a new one."
            if stored
            else "From @BotFather (/newbot). Add the bot to the chat and give the chat's id below."
        )

    def clean(self):
        cleaned = super().clean()
        # A blank field keeps the stored token (it is never sent back to the browser to resubmit).
        if self.cleaned_data.get("forget_token"):
            cleaned["telegram_bot_token"] = ""
        elif not cleaned.get("telegram_bot_token"):
            cleaned["telegram_bot_token"] = self.instance.telegram_bot_token
        return cleaned


@admin.register(OperatorSettings)
class OperatorSettingsAdmin(SingletonAdmin):
    singleton = staticmethod(operator_settings)
    form = OperatorSettingsForm
    fieldsets = [
        ("Email", {"fields": ["email_kinds", "email_to"]}),
        (
            "Telegram",
            {"fields": ["telegram_kinds", "telegram_bot_token", "forget_token", "telegram_chat_id"]},
        ),
        (
            "When",
            {"fields": ["quiet_minutes", "error_rate_percent", "error_min_calls", "review_queue_threshold"]},
        ),
    ]
    filter_horizontal = ["email_to"]
    actions = ["send_test_alert"]

    @admin.action(description="Send a test alert (every channel set up)", permissions=["change"])
    def send_test_alert(self, request, queryset):
        channels = operator_test_message(actor=request.user)
        self.message_user(request, f"A test alert is on its way by {' and '.join(channels)}.")


@admin.register(OperatorAlert)
class OperatorAlertAdmin(ReadOnlyAdmin):
    list_display = ["raised_at", "kind", "subject", "sent_at", "held_back", "text"]
    list_filter = ["kind", "raised_at"]
    search_fields = ["subject", "text"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "user", "status", "sent_at", "attempts", "detail"]
    list_filter = ["kind", "status", "created_at"]
    search_fields = ["user__username", "user__email", "key"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
