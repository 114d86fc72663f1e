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

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this email already exists; log in or reset the password.")
            )
        return email


class SettingsForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    timezone = forms.ChoiceField(label=_("Time zone"), choices=[(name, name) for name in TIMEZONES])

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(_("Another account uses this email."))
        return email
