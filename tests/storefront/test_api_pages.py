"""The storefront's API pages: documentation for this panel's own URL, and the key made, shown once, rotated."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from api.models import ApiKey
from api.services import api_key_check

pytestmark = pytest.mark.django_db


def test_api_docs_use_this_panels_address_and_list_every_order_type(client, settings):
    settings.ALLOWED_HOSTS = ["panel.example.com"]
    page = client.get("/api/", HTTP_HOST="panel.example.com").content.decode()
    assert "http://panel.example.com/api/v2" in page
    for type_name in ["Default", "Subscriptions", "Poll", "Comment Replies", "Mentions User Followers"]:
        assert f"<td>{type_name}</td>" in page
    for action in ["services", "add", "status", "refill", "refill_status", "cancel", "balance"]:
        assert f"action={action}" in page


def test_key_page_needs_a_login(client):
    response = client.get("/account/api/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_key_is_shown_once_rotated_and_revoked(client):
    user = User.objects.create_user("kim", password="pw-kim-123")
    client.force_login(user)
    assert "You have no API key yet." in client.get("/account/api/").content.decode()

    page = client.post("/account/api/", {"issue": ""})
    assert page["Cache-Control"].startswith("max-age=0") and "no-store" in page["Cache-Control"]
    first = re.search(r'id="new-key">([^<]+)<', page.content.decode()).group(1)
    assert api_key_check(first).user == user
    again = client.get("/account/api/").content.decode()
    assert first not in again and f"{first[:8]}…" in again  # only the prefix from now on

    second = re.search(
        r'id="new-key">([^<]+)<', client.post("/account/api/", {"issue": ""}).content.decode()
    ).group(1)
    assert second != first
    assert client.post("/api/v2", {"key": first, "action": "balance"}).json() == {"error": "Invalid API key"}
    client.post("/api/v2", {"key": second, "action": "balance"})
    assert "balance" in client.get("/account/api/").content.decode()  # the call is in the log

    client.post("/account/api/", {"revoke": ""})
    assert not ApiKey.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert client.post("/api/v2", {"key": second, "action": "balance"}).json() == {"error": "Invalid API key"}


def test_key_page_posts_need_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(User.objects.create_user("lou", password="pw-lou-123"))
    assert browser.post("/account/api/", {"issue": ""}).status_code == 403
    assert not ApiKey.objects.exists()
