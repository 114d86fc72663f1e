from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import TIMEZONES, language_choices
from accounts.tasks import password_reset_mail
from billing.money import MONEY_FIELD
from notifications.kinds import CustomerKind


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), help_text=_("For password resets and receipts."))
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=[(name, name) for name in TIMEZONES], initial="UTC"
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username", "email"]

    def clean_username(self):
        if self._signs_up_again():
            return self.cleaned_data["username"]
        return super().clean_username()

    def clean_email(self):
        # Whether the email is registered is never said here (accounts.sign_up answers every form the same).
        return self.cleaned_data["email"].strip().lower()

    def validate_unique(self):
        if not self._signs_up_again():
            super().validate_unique()

    def _signs_up_again(self) -> bool:
        """The same username and email as a sign-up still waiting for its link (no mail came?): not "taken",
        since sign_up_request replaces that sign-up."""
        username, email = self.cleaned_data.get("username"), str(self.data.get("email", "")).strip()
        return bool(username and email) and (
            get_user_model()
            .objects.filter(
                username__iexact=username,
                email__iexact=email,
                is_active=False,
                profile__awaiting_confirmation=True,
            )
            .exists()
        )


class SettingsForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    timezone = forms.ChoiceField(label=_("Time zone"), choices=[(name, name) for name in TIMEZONES])
    # Not required: a form posted without it (an older page) keeps the language chosen before.
    language = forms.ChoiceField(
        label=_("Language"),
        choices=language_choices,
        required=False,
        help_text=_("The language of these pages and of the mails we send you."),
    )
    # Only currencies with a stored rate are offered (choices set per form: rates change).
    display_currency = forms.ChoiceField(
        label=_("Show amounts in"),
        required=False,
        help_text=_("Approximate, at our current rates: you are always charged in the panel currency."),
    )
    password = forms.CharField(
        label=_("Current password"),
        required=False,
        strip=False,
        help_text=_("Needed to change the email: password reset links go to it."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        from storefront.money import display_currencies

        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["display_currency"].choices = [(code, code) for code in display_currencies()]

    def clean_email(self):
        # Whether another account uses it is never said here (accounts.email_change).
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        # Whoever holds the email can reset the password: a session left open (or stolen) must not be
        # enough to take it, as it is not enough to change the password or turn two-factor off.
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and email != self.user.email.lower() and not self.user.check_password(password or ""):
            refusal = _("Your password was entered incorrectly.") if password else _("Type your password.")
            self.add_error("password", refusal)
        return cleaned


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6 digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class SetupCodeForm(CodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _("The 6 digits your authenticator app shows now.")


class TwoFactorDisableForm(CodeForm):
    field_order = ["password", "code"]
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError(_("Your password was entered incorrectly."))
        return self.cleaned_data["password"]


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, except that every valid form — a registered address or not — only queues the same task,
    and a worker looks the address up and mails the link: sent during the request, the mail server's round
    trip made the answer for a registered address measurably slower than for an unknown one."""

    def save(self, *, request, use_https=False, **options):
        email, domain = self.cleaned_data["email"], request.get_host()
        password_reset_mail.delay(email=email, domain=domain, use_https=use_https)


class NotificationsForm(forms.Form):
    """Which mails the customer gets, and below which balance they are warned."""

    wanted = forms.MultipleChoiceField(
        label=_("Mail me when"),
        choices=CustomerKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    low_balance_threshold = forms.DecimalField(
        label=_("Low balance threshold"),
        required=False,
        min_value=0,
        max_digits=MONEY_FIELD["max_digits"],
        decimal_places=MONEY_FIELD["decimal_places"],
        help_text=_("Mail me once when my balance falls below this amount (in %(currency)s). Empty: never."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["low_balance_threshold"]
        field.help_text = field.help_text % {"currency": settings.PANEL_CURRENCY}
