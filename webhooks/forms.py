from django import forms


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Webhook URL",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://your-panel.example/hooks/orders"}),
    )
