from django import forms
from django.utils.translation import gettext_lazy as _


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Webhook URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://your-panel.example/hooks/orders"}),
    )
