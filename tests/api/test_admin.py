"""The operator reads every key and every call in the admin, and can revoke keys; nobody edits the log."""

import pytest

from api.models import ApiKey, ApiRequest

pytestmark = pytest.mark.django_db


def test_operator_sees_keys_and_calls_and_revokes(admin_client, reseller):
    reseller.call("balance")
    keys_page = admin_client.get("/admin/api/apikey/").content.decode()
    key = ApiKey.objects.get(user=reseller.user)
    assert key.prefix in keys_page and reseller.key not in keys_page
    calls_page = admin_client.get("/admin/api/apirequest/").content.decode()
    assert "balance" in calls_page and reseller.key not in calls_page

    admin_client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert reseller.call("balance") == {"error": "Invalid API key"}


def test_the_request_log_cannot_be_edited_or_deleted(admin_client, reseller):
    reseller.call("balance")
    entry = ApiRequest.objects.get()
    assert admin_client.get(f"/admin/api/apirequest/{entry.pk}/delete/").status_code == 403
    admin_client.post(f"/admin/api/apirequest/{entry.pk}/change/", {"action": "x", "error": "edited"})
    entry.refresh_from_db()
    assert entry.action == "balance" and entry.error == ""
    assert admin_client.get("/admin/api/apikey/add/").status_code == 403
