"""Pages in the customer's language (issue 16): their profile's, else the switcher's cookie, else the
browser's, else English; the header's switcher sets the cookie and, for a customer, the profile; API v2 and
the REST API answer in English whatever anyone chose. Expected words are read from the shipped catalogues,
and must differ from the English: a string left untranslated fails here too."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import translation

from accounts.models import Profile
from api.services import api_key_issue
from orders.models import Order
from tests.builders import order_in
from tests.i18n.support import said

pytestmark = pytest.mark.django_db
LANGUAGES = ["ru", "es"]


def page(client, path: str, **environ) -> str:
    response = client.get(path, **environ)
    assert response.status_code == 200, path
    return response.content.decode()


def language_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.fixture
def speaking(customer):
    """``customer`` signed in, with ``code`` as their profile's language."""

    def sign_in(code: str) -> Client:
        Profile.objects.update_or_create(user=customer, defaults={"language": code})
        client = Client()
        client.force_login(customer)
        return client

    return sign_in


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_customer_reads_the_storefront_in_their_language(speaking, customer, on_sale, code):
    order = order_in(Order.Status.IN_PROGRESS, user=customer, service=on_sale())
    client = speaking(code)

    new_order = page(client, "/order/")
    assert language_of(new_order) == code
    assert f"<h1>{said(code, 'New order')}</h1>" in new_order
    orders = page(client, "/orders/")
    in_progress = said(code, "In progress", "order status")
    assert f">{in_progress}</span>" in orders and ">In progress<" not in orders  # the order's status, its tab
    assert said(code, "All orders") in orders
    detail = page(client, f"/orders/{order.pk}/")
    assert f'id="order-status">{in_progress}</span>' in detail


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_fields_help_with_a_figure_is_translated_when_shown(speaking, code, settings):
    """Form fields are built once, at import: a help text with a figure in it must still follow the reader."""
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 4
    help_text = said(code, "Images (PNG, JPEG, GIF, WebP) or PDF, up to %(count)s files.") % {"count": 4}
    assert help_text in page(speaking(code), "/support/new/")


def test_a_visitor_reads_their_browsers_language_and_english_otherwise(client):
    assert language_of(page(client, "/")) == "en"
    spanish = page(client, "/services/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    assert language_of(spanish) == "es" and said("es", "Services and prices") in spanish
    assert language_of(page(client, "/", HTTP_ACCEPT_LANGUAGE="de-DE,de")) == "en"  # not offered


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_visitor_switches_with_the_header_form(code):
    visitor = Client(enforce_csrf_checks=True)
    home = page(visitor, "/services/")
    switcher = re.search(r'<form[^>]*id="language-switcher".*?</form>', home, re.S).group(0)
    assert 'name="csrfmiddlewaretoken"' in switcher and f'name="language" value="{code}"' in switcher
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', switcher).group(1)

    answer = visitor.post(
        "/accounts/language/", {"language": code, "next": "/services/", "csrfmiddlewaretoken": token}
    )

    assert answer.status_code == 302 and answer["Location"] == "/services/"
    again = page(visitor, "/services/")
    assert language_of(again) == code and said(code, "Services and prices") in again


def test_the_switch_refuses_a_language_not_offered_and_a_missing_token(customer):
    client = Client()
    client.force_login(customer)
    client.post("/accounts/language/", {"language": "de", "next": "/"})
    assert not Profile.objects.filter(user=customer).exclude(language="en").exists()
    assert language_of(page(client, "/")) == "en"
    assert Client(enforce_csrf_checks=True).post("/accounts/language/", {"language": "es"}).status_code == 403


def test_a_customer_who_switches_keeps_it_on_every_device(customer):
    laptop = Client()
    laptop.force_login(customer)
    laptop.post("/accounts/language/", {"language": "es", "next": "/dashboard/"})
    assert Profile.objects.get(user=customer).language == "es"

    phone = Client()  # no cookie, a browser asking for English
    phone.force_login(customer)
    assert language_of(page(phone, "/dashboard/", HTTP_ACCEPT_LANGUAGE="en")) == "es"


def test_the_profile_wins_over_the_cookie_and_the_browser(speaking):
    client = speaking("es")
    client.cookies["django_language"] = "ru"
    assert language_of(page(client, "/orders/", HTTP_ACCEPT_LANGUAGE="ru")) == "es"


def test_the_account_settings_change_the_pages_language(speaking, customer):
    client = speaking("en")
    data = {"email": "", "timezone": "UTC", "language": "es"}
    User.objects.filter(pk=customer.pk).update(email="dave@example.com")
    client.post("/accounts/settings/", data | {"email": "dave@example.com"})
    assert language_of(page(client, "/accounts/settings/")) == "es"


def test_a_sign_up_keeps_the_language_the_visitor_reads(client):
    form = {"username": "lola", "email": "lola@example.com", "timezone": "UTC"}
    form |= {"password1": "a-Long-pass-42", "password2": "a-Long-pass-42"}
    client.post("/accounts/sign-up/", form, headers={"accept-language": "es"})
    assert Profile.objects.get(user__username="lola").language == "es"
    [confirm] = mail.outbox
    assert confirm.subject == said("es", "Confirm your email")


def test_a_password_reset_mail_is_in_its_recipients_language(client, eager_celery):
    rosa = User.objects.create_user("rosa", "rosa@example.com", "pw-Secret-123")
    Profile.objects.create(user=rosa, language="es")
    client.post("/accounts/password_reset/", {"email": "rosa@example.com"})  # asked from an English page
    [reset] = mail.outbox
    with translation.override("es"):
        assert reset.subject == translation.gettext("Password reset on %(site_name)s") % {
            "site_name": "testserver"
        }


def test_the_console_stays_in_english(operator_client):
    Profile.objects.create(user=User.objects.get(username="boss"), language="es")
    console = page(operator_client, "/admin/", HTTP_ACCEPT_LANGUAGE="es")
    assert language_of(console) == "en" and "Log out" in console


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_apis_answer_in_english_whatever_the_customer_reads(speaking, customer, on_sale, code):
    order = order_in(Order.Status.IN_PROGRESS, user=customer, service=on_sale())
    client = speaking(code)  # signed in too: the session plays no part in an API's language
    client.cookies["django_language"] = code
    _, key = api_key_issue(user=customer)

    def v2(**fields):
        response = client.post("/api/v2", {"key": key, **fields}, headers={"accept-language": code})
        return json.loads(response.content)

    assert v2(action="status", order=order.pk)["status"] == "In progress"
    assert v2(action="add", service=order.service_id, link="", quantity="100") == {
        "error": "link: This field is required."
    }
    rest = client.get(
        f"/api/v1/orders/{order.pk}/", headers={"authorization": f"Bearer {key}", "accept-language": code}
    )
    assert rest.json()["status"] == "In progress"
