"""An Owner, with two-factor required, sets it up from the admin's login and logs in again with a code: in
Chromium (Playwright), reading the secret off the page as a person types it into their app."""

from base64 import b32decode

import pytest
from django.contrib.auth.models import Group, User
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.browser import admin_login, shoot

pytestmark = pytest.mark.slow


def app_code(secret: str, steps: int) -> str:
    return f"{TOTP(b32decode(secret.replace(' ', '')), drift=steps).token():06d}"


def test_an_owner_sets_up_two_factor_and_logs_in_with_a_code(transactional_db, browser_page, settings):
    settings.OTP_REQUIRED_FOR_OWNERS = True
    owner = User.objects.create_user("olga", password="Owner-pass-42", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    page = browser_page

    admin_login(page, "olga", "Owner-pass-42")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    shoot(page, "two-factor-setup")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_role("textbox", name="Code").fill(app_code(secret, 0))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(
        page.locator("#console-links").get_by_role("link", name="Needs review")
    ).to_be_visible()  # the admin's front page

    page.locator("#nav-sidebar-inner").get_by_text("olga", exact=True).click()  # the account menu
    page.locator("#logout-form button").click()
    admin_login(page, "olga", "Owner-pass-42")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(app_code(secret, 1))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#console-links").get_by_role("link", name="Needs review")).to_be_visible()
