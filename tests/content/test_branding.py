"""Branding: the Owner sets the panel's name, logo, favicon, colours and footer in the console (audited; not
Support's); the storefront, the console and the mails show them; uploads are checked by their content and
served so they can only be shown; the cached copy changes on save."""

import base64
import re
import struct
import zlib

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import customer_sign_up
from accounts.sign_up import sign_up_request
from audit.models import AuditEntry
from content.branding import branding_current
from content.models import Branding
from notifications.customers import customer_notify
from notifications.kinds import Channel, CustomerKind
from notifications.operators import operator_message_send
from tests.staff import staff

pytestmark = pytest.mark.django_db

CHANGE = "/admin/content/branding/1/change/"


def png(width=2, height=1) -> bytes:
    """A real PNG image, made here (no image library in the project)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def form(**changes) -> dict:
    return {
        "panel_name": "Reseller panel",
        "accent_colour": "#0b5cad",
        "background_colour": "#ffffff",
        "footer_text": "",
        **changes,
    }


@pytest.fixture
def owner(client):
    staff(client, "olive", "Owner")
    client.get("/admin/content/branding/")  # the one row, made on first use as the console lists it
    return client


def test_the_defaults_before_the_owner_sets_anything(client):
    page = client.get("/services/").content.decode()
    assert "<title>" in page and 'class="brand"' in page and ">Reseller panel</a>" in page
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon["Content-Type"] == "image/x-icon"  # the default, shipped
    assert favicon.content.startswith(b"\x00\x00\x01\x00")


def test_the_owner_brands_the_panel_and_customers_see_it(owner):
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    icon = SimpleUploadedFile("icon.png", png(1, 1), content_type="image/png")
    response = owner.post(
        CHANGE,
        form(
            panel_name="Acme Boost",
            accent_colour="#AA3300",
            background_colour="#fafafa",
            footer_text="**Acme Boost** · support@acme.example <script>alert(1)</script>",
            logo=logo,
            favicon=icon,
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = AuditEntry.objects.get(action="content.branding.change")
    assert {"panel_name", "logo", "favicon", "accent_colour"} <= set(entry.changes)
    assert "logo.png (image/png" in entry.changes["logo"][1]

    visitor = Client()
    page = visitor.get("/services/").content.decode()
    brand = branding_current()
    assert "Acme Boost" in page and "Reseller panel" not in page
    assert f'src="/brand/logo-{brand.logo_version}" alt="Acme Boost"' in page
    footer = page[page.index('<footer class="site">') : page.index("</footer>")]
    assert "<strong>Acme Boost</strong>" in footer and "<script" not in footer
    # The colours: a stylesheet of the panel's own origin (the Content-Security-Policy bars inline styles).
    stylesheet = re.search(r'href="(/brand/style-[^"]+\.css)"', page).group(1)
    css = visitor.get(stylesheet)
    assert css["Content-Type"].startswith("text/css")
    assert "--accent: #aa3300;" in css.content.decode() and "--bg: #fafafa;" in css.content.decode()
    assert "style-src 'self'" in visitor.get("/services/")["Content-Security-Policy"]

    shown = visitor.get(f"/brand/logo-{brand.logo_version}")
    assert shown.content == png() and shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff" and "sandbox" in shown["Content-Security-Policy"]
    favicon = visitor.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.content == png(1, 1)
    assert f'rel="icon" href="/favicon.ico?v={brand.favicon_version}"' in page

    # The console too (django-unfold's look): the name in its title, the logo in its sidebar, the favicon, and
    # the accent as the theme's primary colour (its style tag carries the response's nonce).
    console = owner.get("/admin/")
    html = console.content.decode()
    assert "| Acme Boost</title>" in html
    assert f'src="/brand/logo-{brand.logo_version}"' in html
    assert f'href="/favicon.ico?v={brand.favicon_version}"' in html
    nonce = re.search(r"'nonce-([^']+)'", console["Content-Security-Policy"]).group(1)
    colours = re.search(
        rf'<style id="unfold-theme-colors" nonce="{re.escape(nonce)}">(.*?)</style>', html, re.S
    )
    assert "--color-primary-600: rgb(170, 51, 0);" in colours.group(1)

    # Removing the logo: the name again.
    owner.post(CHANGE, form(panel_name="Acme Boost", remove_logo="on"))
    assert ">Acme Boost</a>" in visitor.get("/services/").content.decode()
    assert visitor.get(f"/brand/logo-{brand.logo_version}").status_code == 404


@pytest.mark.parametrize(
    ("field", "upload", "error"),
    [
        ("logo", ("logo.png", b"<!doctype html><html><script>alert(1)</script></html>"), "not an image"),
        (
            "logo",
            (
                "logo.svg",
                b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            ),
            "SVG images are refused",
        ),
        ("favicon", ("favicon.ico", b"MZ\x90\x00" + b"\x00" * 64), "not an image"),
        ("logo", ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (512 * 1024)), "larger than 512 KB"),
    ],
)
def test_an_upload_that_is_not_a_safe_image_is_a_form_error(owner, field, upload, error):
    name, data = upload
    response = owner.post(CHANGE, form(**{field: SimpleUploadedFile(name, data, content_type="image/png")}))
    assert response.status_code == 200 and error in response.content.decode()
    assert not bytes(Branding.objects.get().logo_image) and not Branding.objects.get().logo


@pytest.mark.parametrize("colour", ["red", "#12345", "#12345g", "#123456;}body{display:none", "url(x)"])
def test_a_colour_that_is_not_hex_is_a_form_error(owner, colour):
    response = owner.post(CHANGE, form(accent_colour=colour))
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert Branding.objects.get().accent_colour == "#0b5cad"


def test_the_cached_branding_changes_on_save(owner, django_assert_num_queries):
    assert branding_current().panel_name == "Reseller panel"
    with django_assert_num_queries(0):
        assert branding_current().panel_name == "Reseller panel"  # cached
    owner.post(CHANGE, form(panel_name="Acme Boost"))
    assert branding_current().panel_name == "Acme Boost"


def test_support_cannot_brand_the_panel(client):
    staff(client, "sam", "Support")
    assert client.get("/admin/content/branding/").status_code == 403
    assert client.post(CHANGE, form(panel_name="Mine")).status_code in {403, 302}
    assert branding_current().panel_name == "Reseller panel"


def test_the_mails_carry_the_panel_name_and_colour(owner):
    owner.post(CHANGE, form(panel_name="Acme Boost", accent_colour="#aa3300"))
    sign_up_request(
        username="cleo",
        email="cleo@example.com",
        password="pw-Secret-123",
        timezone="UTC",
        base_url="http://x",
    )
    assert "Acme Boost" in mail.outbox[-1].body  # the sign-up link's mail
    user = customer_sign_up(username="dora", email="dora@example.com", password="pw-Secret-123")
    user.is_active = True
    user.save()
    assert customer_notify(
        user=user,
        kind=CustomerKind.TOPUP_REJECTED,
        template="notifications/emails/low_balance",
        subject="Low balance",
        context={"balance": "1.00", "currency": "USD", "threshold": "5.00"},
    )
    sent = mail.outbox[-1]
    html = sent.alternatives[0][0]
    assert "Acme Boost" in sent.body and "Acme Boost" in html and "#aa3300" in html


def test_the_logo_fixture_is_a_real_png():
    assert base64.b64encode(png())[:8] == b"iVBORw0K"


def test_operator_alerts_begin_with_the_panel_name_unless_a_prefix_is_set(owner, settings):
    settings.ADMINS = [("Olive", "olive@example.com")]
    owner.post(CHANGE, form(panel_name="Acme Boost"))
    assert operator_message_send(channel=Channel.EMAIL, kind="test", message="Provider down\nmore")
    assert mail.outbox[-1].subject == "[Acme Boost] Provider down"
    settings.EMAIL_SUBJECT_PREFIX_SET, settings.EMAIL_SUBJECT_PREFIX = True, "[ops] "
    operator_message_send(channel=Channel.EMAIL, kind="test", message="Provider down")
    assert mail.outbox[-1].subject == "[ops] Provider down"


def test_authenticator_apps_and_the_api_docs_say_the_branded_name(owner, customer):
    """Read when shown: a device set up before the rename shows the new name in its next QR code."""
    device = TOTPDevice.objects.create(user=customer, name="phone", confirmed=False)
    assert "&issuer=Reseller%20panel" in device.config_url
    owner.post(CHANGE, form(panel_name="Acme: Boost"))
    # django-otp drops the colon, which separates the issuer from the account in the label.
    assert device.config_url.startswith("otpauth://totp/Acme%20Boost%3Adave?")
    assert device.config_url.endswith("&issuer=Acme%20Boost")

    anyone = Client()
    schema = anyone.get("/api/v1/schema/", {"format": "json"}).json()
    assert schema["info"]["title"] == "Acme: Boost REST API"
    for page in ["/api/v1/docs/", "/api/v1/redoc/"]:
        assert "<title>Acme: Boost REST API</title>" in anyone.get(page).content.decode(), page
