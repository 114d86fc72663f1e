"""Helpers for the provider tests."""

from django.urls import reverse


def run_action(operator_client, action, provider):
    """Run an admin action on one provider; the messages it left."""
    response = operator_client.post(
        reverse("admin:panels_provider_changelist"),
        {"action": action, "_selected_action": [provider.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]
