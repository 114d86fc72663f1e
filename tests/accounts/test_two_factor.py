"""Two-factor authentication: required for Owners when OTP_REQUIRED_FOR_OWNERS is on (production), optional for
everyone else; a code after the password on both login pages; wrong codes throttled and counted as failed
logins; recovery codes work once."""

import re
import time
from base64 import b32decode
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import customer_sign_up
from accounts.two_factor import totp_setup_confirm, totp_setup_start
from tests.production import manage

pytestmark = pytest.mark.django_db

PASSWORD = "Pass-word-4242"
STEP = 30


def code_for(device: TOTPDevice, steps: int = 0) -> str:
    """What the authenticator app shows, ``steps`` time steps (30 s) from now. A code is accepted once, within
    a step of the phone's clock as last seen, so a test uses steps 0, 1, 2… in turn."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps * STEP
    return f"{totp.token():06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    right = {code_for(device, steps) for steps in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in right)


def owner(username="olga") -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Owner"))
    return user


def with_two_factor(user: User) -> tuple[TOTPDevice, list[str]]:
    device = totp_setup_start(user=user)
    confirmed, codes = totp_setup_confirm(user=user, code=code_for(device))
    assert confirmed is not None
    return confirmed, codes


def password_step(client, username, path="/accounts/login/", next_url=""):
    return client.post(path, {"username": username, "password": PASSWORD, "next": next_url})


def code_step(client, code, next_url=""):
    return client.post("/accounts/login/code/", {"code": code, "next": next_url})


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


@override_settings(OTP_REQUIRED_FOR_OWNERS=True)
def test_an_owner_sets_up_two_factor_before_reaching_the_admin(client):
    owner()
    response = password_step(client, "olga", "/admin/login/", "/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    for path in ["/admin/", "/admin/orders/order/", "/admin/console/dashboard/", "/dashboard/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/two-factor/setup/?next="), path

    page = client.get("/accounts/two-factor/setup/?next=/admin/").content.decode()
    assert "<svg" in page and "Your role needs two-factor authentication" in page
    device = TOTPDevice.objects.get(user__username="olga", confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert b32decode(secret.replace(" ", "")) == device.bin_key  # to type in by hand

    refused = client.post("/accounts/two-factor/setup/", {"code": wrong_code_for(device), "next": "/admin/"})
    assert "That code is not right" in refused.content.decode()
    assert client.get("/admin/").status_code == 302
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)

    done = client.post("/accounts/two-factor/setup/", {"code": code_for(device), "next": "/admin/"})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10 and set(codes) == set(StaticToken.objects.values_list("token", flat=True))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/console/dashboard/").status_code == 200

    # Next time: the password, then a code, and only then the admin.
    client.post("/accounts/logout/")
    response = password_step(client, "olga", "/admin/login/", "/admin/")
    assert response["Location"].startswith("/accounts/login/code/")
    assert client.get("/admin/").status_code == 302 and not signed_in(client)
    response = code_step(client, code_for(device, 1), "/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/orders/order/").status_code == 200


@override_settings(OTP_REQUIRED_FOR_OWNERS=True)
def test_an_owner_cannot_turn_required_two_factor_off(client):
    user = owner()
    device, _ = with_two_factor(user)
    password_step(client, "olga")
    code_step(client, code_for(device, 1))
    client.post("/accounts/two-factor/turn-off/", {"password": PASSWORD, "code": code_for(device, 2)})
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert (
        "Two-factor authentication is required for your role"
        in client.get("/accounts/two-factor/").content.decode()
    )


def test_without_the_setting_owners_are_not_forced(client):
    owner()
    password_step(client, "olga", "/admin/login/", "/admin/")
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_and_throttled(client):
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    device, _ = with_two_factor(user)
    password_step(client, "cleo")

    refused = code_step(client, wrong_code_for(device))
    assert refused.status_code == 200 and "That code is not right" in refused.content.decode()
    assert not signed_in(client)
    # Right away, even the right code waits: each failure doubles the wait (django-otp's throttle).
    throttled = code_step(client, code_for(device, 1))
    assert "Too many wrong codes: try again in" in throttled.content.decode()
    assert not signed_in(client)

    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=1)
    )
    assert code_step(client, code_for(device, 1)).status_code == 302
    assert signed_in(client)


def test_wrong_codes_count_as_failed_logins_and_lock_out(client):
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    device, _ = with_two_factor(user)
    password_step(client, "cleo")
    for _ in range(4):
        assert code_step(client, wrong_code_for(device)).status_code == 200
    locked = code_step(client, wrong_code_for(device))
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    # The password alone no longer gets to the code step from this address.
    assert password_step(client, "cleo").status_code == 429
    assert not signed_in(client)


def test_a_lockout_stops_code_steps_already_waiting_elsewhere(client):
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    device, _ = with_two_factor(user)
    waiting = Client()
    password_step(waiting, "cleo")
    password_step(client, "cleo")
    for _ in range(5):
        code_step(client, wrong_code_for(device))
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    assert code_step(waiting, code_for(device, 1)).status_code == 429
    assert not signed_in(waiting)


def test_a_recovery_code_works_once(client):
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    _, codes = with_two_factor(user)
    password_step(client, "cleo")
    assert code_step(client, codes[0].upper()).status_code == 302 and signed_in(client)
    assert StaticToken.objects.filter(device__user=user).count() == 9

    other = Client()
    password_step(other, "cleo")
    assert "That code is not right" in code_step(other, codes[0]).content.decode()
    assert not signed_in(other)


def test_the_code_step_expires_and_needs_the_password_first(client):
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    device, _ = with_two_factor(user)
    assert code_step(client, code_for(device, 1))["Location"] == "/accounts/login/"
    password_step(client, "cleo")
    session = client.session
    session["login_pending"]["at"] -= 10 * 60
    session.save()
    assert code_step(client, code_for(device, 1))["Location"] == "/accounts/login/"
    assert not signed_in(client)


def test_a_customer_turns_two_factor_on_and_off(client):
    customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    password_step(client, "cleo")
    assert signed_in(client)
    assert "Off." in client.get("/accounts/two-factor/").content.decode()
    client.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user__username="cleo")
    done = client.post("/accounts/two-factor/setup/", {"code": code_for(device)})
    assert "They are shown only now" in done.content.decode()
    assert "10 recovery codes left" in client.get("/accounts/two-factor/").content.decode()

    client.post("/accounts/logout/")
    assert password_step(client, "cleo")["Location"].startswith("/accounts/login/code/")
    assert not signed_in(client)
    assert code_step(client, code_for(device, 1))["Location"] == "/dashboard/"

    wrong = client.post("/accounts/two-factor/turn-off/", {"password": "nope", "code": code_for(device, 2)})
    assert "Your password was entered incorrectly" in wrong.content.decode()
    client.post("/accounts/two-factor/turn-off/", {"password": PASSWORD, "code": code_for(device, 2)})
    assert not TOTPDevice.objects.filter(user__username="cleo").exists()
    client.post("/accounts/logout/")
    assert password_step(client, "cleo")["Location"] == "/dashboard/"


def test_new_recovery_codes_replace_the_old(client):
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    device, old = with_two_factor(user)
    password_step(client, "cleo")
    code_step(client, code_for(device, 1))
    page = client.post("/accounts/two-factor/recovery-codes/").content.decode()
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)


def test_new_recovery_codes_keep_a_session_signed_in_with_a_recovery_code(client):
    """Lost phone: signed in with a recovery code, the user asks for new codes; that session stays in."""
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    _, old = with_two_factor(user)
    password_step(client, "cleo")
    assert code_step(client, old[0]).status_code == 302 and signed_in(client)
    page = client.post("/accounts/two-factor/recovery-codes/").content.decode()
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert signed_in(client)
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == set(new)
    other = Client()
    password_step(other, "cleo")
    assert code_step(other, new[0]).status_code == 302 and signed_in(other)


def test_a_session_that_skipped_the_code_is_signed_out(client):
    """Signed in before two-factor was turned on elsewhere: that session does not stay in."""
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    client.force_login(user)
    assert signed_in(client)
    with_two_factor(user)
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)


def test_production_requires_two_factor_for_owners():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.OTP_REQUIRED_FOR_OWNERS)",
        DJANGO_SECRET_KEY="z" * 60,
        DJANGO_ALLOWED_HOSTS="panel.example.com",
    )
    assert result.stdout.strip().splitlines()[-1] == "True", result.stderr


def test_pages_showing_the_secret_or_the_codes_are_kept_in_no_cache(client):
    """Like the page that shows a new API key: what is shown once must not be found again in a cache."""
    user = customer_sign_up(username="cleo", email="cleo@example.com", password=PASSWORD)
    client.force_login(user)
    setup = client.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user=user)
    assert setup.status_code == 200 and "no-store" in setup["Cache-Control"]
    confirmed = client.post("/accounts/two-factor/setup/", {"code": code_for(device)})
    assert (
        "They are shown only now" in confirmed.content.decode() and "no-store" in confirmed["Cache-Control"]
    )
    again = client.post("/accounts/two-factor/recovery-codes/")
    assert "They are shown only now" in again.content.decode() and "no-store" in again["Cache-Control"]
