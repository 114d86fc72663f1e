"""Hostile input on both APIs: text no database can store, JSON too deep or out of range, dates outside the
calendar, too many fields, oversized bodies, and rotations racing each other. Never a 500 or an HTML page:
API v2 answers ``{"error": …}``, REST answers in DRF's shape, and a refused request writes nothing."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client, override_settings

from api.models import ApiKey, ApiRequest
from api.services import api_key_check, api_key_issue
from billing.models import LedgerEntry
from orders.models import Order
from tests.orders.support import service_of

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
BAD_JSON_BODIES = {
    "unpaired high surrogate": '{"action": "add", "service": 1, "link": "https://x.example/\\ud800"}',
    "unpaired low surrogate": '{"action": "add", "service": 1, "link": "\\udfff"}',
    "surrogate in a field name": '{"action": "add", "\\ud800": "1"}',
    "NUL escape": '{"action": "add", "service": 1, "link": "https://x.example/\\u0000"}',
    "100,000 deep": DEEP,
    "deep inside an object": '{"action": "add", "link": ' + "[" * 40 + "]" * 40 + "}",
    "NaN": '{"action": "add", "service": 1, "quantity": NaN}',
    "Infinity": '{"action": "add", "service": 1, "quantity": -Infinity}',
    "1e999": '{"action": "add", "service": 1, "quantity": 1e999}',
    "5000 digits": '{"action": "add", "service": 1, "quantity": ' + "9" * 5000 + "}",
}


def _nothing_written(before):
    return (Order.objects.count(), LedgerEntry.objects.count()) == before


@pytest.mark.parametrize("body", BAD_JSON_BODIES.values(), ids=BAD_JSON_BODIES.keys())
def test_api_v2_refuses_json_it_cannot_store_in_its_error_shape(client, shop, reseller, body):
    shop("smmcloud")
    before = (Order.objects.count(), LedgerEntry.objects.count())
    response = client.post("/api/v2", body, content_type="application/json", HTTP_X_API_KEY=reseller.key)
    assert response.status_code == 200
    assert response.json() == {"error": "Incorrect request"}
    assert _nothing_written(before)


def test_api_v2_still_reads_real_non_ascii_text_and_escaped_pairs(client, reseller):
    body = '{"action": "status", "order": "\\ud83d\\ude00 ünï"}'  # a paired escape is an emoji
    response = client.post("/api/v2", body, content_type="application/json", HTTP_X_API_KEY=reseller.key)
    assert response.json() == {"error": "Incorrect order ID"}


@pytest.mark.parametrize("body", BAD_JSON_BODIES.values(), ids=BAD_JSON_BODIES.keys())
def test_rest_refuses_json_it_cannot_store_with_a_400(shop, reseller, body):
    _, provider = shop("smmcloud")
    body = body.replace('"service": 1', f'"service": {service_of(provider, "Default").pk}')
    before = (Order.objects.count(), LedgerEntry.objects.count())
    response = reseller.client.post(
        "/api/v1/orders/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {reseller.key}"
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("JSON parse error - ")
    assert _nothing_written(before)


def test_form_encoded_invalid_utf8_is_read_as_replacement_characters(client, shop, reseller):
    """A form cannot smuggle a surrogate: Django decodes %ED%A0%80 (a UTF-8-encoded surrogate) as U+FFFD."""
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    body = (
        f"key={reseller.key}&action=add&service={service.pk}&quantity={service.min_quantity}&link=%ED%A0%80"
    )
    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")
    assert response.json() == {"error": "Bad link"}
    response = client.get("/api/v1/orders/?link=%ED%A0%80%00", HTTP_AUTHORIZATION=f"Bearer {reseller.key}")
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "moment",
    [
        "9999-12-31T23:59:59-14:00",  # past the year 9999 in UTC
        "9999-12-31T23:59:59-00:01",
        "0001-01-01T00:00:00+14:00",  # before the year 1 in UTC
        "0001-01-01T00:00:00%2B00:01",
        "10000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "99999999999999999999",
    ],
)
@pytest.mark.parametrize("field", ["created_after", "created_before"])
def test_dates_outside_the_calendar_are_a_field_error(reseller, field, moment):
    response = reseller.rest("get", f"orders/?{field}={moment.replace('+', '%2B')}")
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59%2B14:00", "0001-01-01T00:00:00-14:00", "9999-12-31"])
def test_extreme_dates_inside_the_calendar_still_filter(reseller, moment):
    assert reseller.rest("get", f"orders/?created_after={moment}").status_code == 200
    assert reseller.rest("get", f"orders/?created_before={moment}").status_code == 200


FIELDS = 1001  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000


def test_api_v2_answers_too_many_fields_in_its_shape(client, reseller):
    body = "&".join([f"key={reseller.key}", "action=balance", *(f"f{n}=1" for n in range(FIELDS))])
    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()) == (200, {"error": "Too many fields: 1000 at most."})
    query = "&".join([f"key={reseller.key}", *(f"f{n}=1" for n in range(FIELDS))])
    response = client.get(f"/api/v2?{query}")  # read while authenticating, and again after the refusal
    assert (response.status_code, response.json()) == (200, {"error": "Too many fields: 1000 at most."})
    multipart = {"key": reseller.key, "action": "balance", **{f"f{n}": "1" for n in range(FIELDS)}}
    response = client.post("/api/v2", multipart)
    assert (response.status_code, response.json()) == (200, {"error": "Too many fields: 1000 at most."})


def test_rest_answers_too_many_fields_and_oversized_bodies_in_drf_shape(reseller, settings):
    query = "&".join(f"f{n}=1" for n in range(FIELDS))
    response = reseller.client.get(f"/api/v1/orders/?{query}", HTTP_AUTHORIZATION=f"Bearer {reseller.key}")
    assert (response.status_code, response.json()) == (400, {"detail": "Too many fields: 1000 at most."})
    response = reseller.client.post(
        "/api/v1/orders/",
        query,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {reseller.key}",
    )
    assert (response.status_code, response.json()) == (400, {"detail": "Too many fields: 1000 at most."})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = reseller.rest("post", "orders/", {"link": "x" * 2000})
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: 1000 bytes at most."}


def _browser(user) -> Client:
    """A signed-in browser whose POSTs go through the CSRF check, which reads the body before any view."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.cookies["csrftoken"] = "a" * 32
    return browser


def test_rest_too_many_fields_from_a_signed_in_browser_session_is_json_too(reseller):
    browser = _browser(reseller.user)
    body = "&".join(f"f{n}=1" for n in range(FIELDS))
    response = browser.post("/api/v1/orders/", body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()) == (400, {"detail": "Too many fields: 1000 at most."})


def test_the_website_answers_too_many_fields_with_its_own_400_page(customer):
    body = "&".join(f"f{n}=1" for n in range(FIELDS))
    response = _browser(customer).post("/order/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]
    assert "could not be read" in response.content.decode()  # templates/400.html, not Django's bare page


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_the_admin_answers_an_oversized_body_with_the_400_page(admin_user):
    response = _browser(admin_user).post(
        "/admin/", "x=" + "y" * 2000, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and "could not be read" in response.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_parallel_key_rotations_take_turns_and_one_key_stays_live(transactional_db, django_user_model):
    user = django_user_model.objects.create_user("racer")
    api_key_issue(user=user)
    barrier = threading.Barrier(6)
    keys, errors = [], []

    def rotate():
        try:
            barrier.wait()
            keys.append(api_key_issue(user=user)[1])
        except Exception as error:  # any failure is what this test looks for
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=rotate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() == 1
    live = [key for key in keys if _works(key)]
    assert len(keys) == 6 and len(live) == 1  # the last rotation wins; the others were revoked by it


def _works(raw: str) -> bool:
    try:
        api_key_check(raw)
    except Exception:
        return False
    return True


def test_request_log_rows_never_carry_a_key(client, reseller):
    client.get(f"/api/v2?key={reseller.key}&action=balance")
    # DRF's field errors quote the value: a key pasted into the wrong field must not reach the log.
    assert reseller.key in str(reseller.rest("get", f"orders/?status={reseller.key}").json())
    logged = list(ApiRequest.objects.values_list("action", "error"))
    assert len(logged) == 2
    assert reseller.key not in json.dumps(logged)
    assert reseller.key.partition(".")[0] in json.dumps(logged)  # the prefix names the key, as in pages


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "orders/%00/"),
        ("post", "orders/%00/refill/"),
        ("get", "refills/%00/"),
        ("get", "services/%00/"),
    ],
)
def test_a_nul_in_a_rest_path_is_a_404_and_is_logged_without_it(reseller, method, path):
    """The request log quotes the path, and PostgreSQL refuses a NUL in text: that was a 500."""
    response = reseller.rest(method, path)
    assert response.status_code == 404
    [action] = ApiRequest.objects.values_list("action", flat=True)
    assert action == f"{method.upper()} /api/v1/{path.replace('%00', '')}"
