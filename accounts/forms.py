from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import TIMEZONES


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

    def clean_email(self):
        # Whether another account uses it is never said here (accounts.email_change).
        return self.cleaned_data["email"].strip().lower()


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
