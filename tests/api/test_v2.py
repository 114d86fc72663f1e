"""API v2 served to resellers: every action and form, exactly the documents' shapes, every error."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from api.models import ApiRequest
from billing.models import LedgerEntry
from billing.money import money_text
from billing.services import account_for
from catalogue.models import CustomerPricing, CustomerServicePrice, Service
from orders.models import Order, Refill
from orders.order_types import ORDER_TYPES
from orders.services import order_submit
from tests.orders.support import data_for, service_of, settle

pytestmark = pytest.mark.django_db


def test_balance_is_a_string_in_the_panel_currency(reseller, settings):
    assert reseller.call("balance") == {"balance": "100.00", "currency": settings.PANEL_CURRENCY}


def test_services_lists_what_is_on_sale_at_the_callers_rates(shop, reseller):
    _, provider = shop("smmcloud")
    paused = service_of(provider, "Default")
    paused.status = Service.Status.PAUSED
    paused.save()
    custom = service_of(provider, "Package")
    CustomerServicePrice.objects.create(user=reseller.user, service=custom, price=Decimal("1.2345"))
    CustomerPricing.objects.create(user=reseller.user, discount_percent=Decimal(10))

    listed = reseller.call("services")

    on_sale = Service.objects.filter(status=Service.Status.ACTIVE).order_by("pk")
    assert [entry["service"] for entry in listed] == [service.pk for service in on_sale]
    assert paused.pk not in {entry["service"] for entry in listed}
    by_id = {entry["service"]: entry for entry in listed}
    assert by_id[custom.pk]["rate"] == "1.2345"
    other = on_sale.exclude(pk=custom.pk).first()
    assert Decimal(by_id[other.pk]["rate"]) == (other.price * Decimal("0.9")).quantize(Decimal("0.0001"))
    entry = by_id[other.pk]
    assert set(entry) == {
        "service",
        "name",
        "type",
        "category",
        "rate",
        "min",
        "max",
        "refill",
        "cancel",
        "dripfeed",
    }
    assert isinstance(entry["service"], int)
    assert entry["min"] == str(other.min_quantity) and entry["max"] == str(other.max_quantity)
    assert isinstance(entry["refill"], bool) and isinstance(entry["cancel"], bool)
    # Never the provider's ids.
    assert entry["service"] == other.pk


def test_a_customers_new_price_or_discount_is_charged_at_once(shop, make_reseller):
    """The customer's own terms are cached (catalogue.pricing.customer_terms): each change below comes right
    after a call that cached them, and the next order must be charged by it."""
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    reseller = make_reseller(funds="1000")
    data = {"service": service.pk, **data_for(service)}

    def charged() -> Decimal:
        return Order.objects.get(pk=reseller.call("add", **data)["order"]).charge

    units = Decimal(data["quantity"]) / 1000
    assert charged() == (service.price * units).quantize(Decimal("0.0001"))
    pricing = CustomerPricing.objects.create(user=reseller.user, discount_percent=Decimal(10))
    assert charged() == (service.price * Decimal("0.9") * units).quantize(Decimal("0.0001"))
    custom = CustomerServicePrice.objects.create(user=reseller.user, service=service, price=Decimal("2"))
    assert charged() == Decimal("2") * units
    custom.price = Decimal("3")
    custom.save()
    assert charged() == Decimal("3") * units
    custom.delete()
    pricing.delete()
    assert charged() == (service.price * units).quantize(Decimal("0.0001"))


@pytest.mark.parametrize("dialect", ["smmcloud", "smmcool"])
def test_add_every_order_type_of_both_providers_charges_exactly(shop, make_reseller, dialect):
    _, provider = shop(dialect)
    reseller = make_reseller(funds="10000")
    types = set(Service.objects.filter(provider_service__provider=provider).values_list("type", flat=True))
    assert types <= set(ORDER_TYPES)
    for type_name in sorted(types):
        service = service_of(provider, type_name)
        answer = reseller.call("add", service=service.pk, **data_for(service))
        assert set(answer) == {"order"} and isinstance(answer["order"], int), (type_name, answer)
        order = Order.objects.get(pk=answer["order"], user=reseller.user)
        assert order.service == service and order.charge > 0
        assert LedgerEntry.objects.get(idempotency_key=f"charge:order:{order.pk}").amount == -order.charge
    assert account_for(reseller.user).balance == Decimal(10000) - sum(
        order.charge for order in Order.objects.filter(user=reseller.user)
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"quantity": "1"}, "Quantity less than minimal {min}"),
        ({"quantity": "100000000"}, "Quantity more than maximal {max}"),
        ({"link": "not a link"}, "Bad link"),
        ({"quantity": "ten"}, "quantity: Enter a whole number."),
        ({"link": ""}, "link: This field is required."),
    ],
)
def test_add_refusals_use_the_canonical_messages_and_write_nothing(shop, reseller, fields, error):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    data = {**data_for(service), **fields}
    ledger = LedgerEntry.objects.count()

    answer = reseller.call("add", service=service.pk, **data)

    assert answer == {"error": error.format(min=service.min_quantity, max=service.max_quantity)}
    assert not Order.objects.exists() and LedgerEntry.objects.count() == ledger


def test_add_unknown_disabled_paused_service_and_missing_funds(shop, make_reseller):
    _, provider = shop("smmcloud")
    reseller = make_reseller(funds="0.0001")
    service = service_of(provider, "Default")
    assert reseller.call("add", service="999999", **data_for(service)) == {"error": "Incorrect service ID"}
    assert reseller.call("add", service="abc", **data_for(service)) == {"error": "Incorrect service ID"}
    assert reseller.call("add", **data_for(service)) == {"error": "Incorrect service ID"}
    assert reseller.call("add", service=service.pk, **data_for(service)) == {
        "error": "Not enough funds on balance"
    }
    Service.objects.filter(pk=service.pk).update(status=Service.Status.PAUSED)
    assert "temporarily unavailable" in reseller.call("add", service=service.pk, **data_for(service))["error"]
    Service.objects.filter(pk=service.pk).update(status=Service.Status.DISABLED)
    assert reseller.call("add", service=service.pk, **data_for(service)) == {"error": "Incorrect service ID"}
    assert not Order.objects.exists()


def test_status_single_and_multi_follow_the_order_to_a_refunded_partial(shop, make_reseller, settings):
    server, provider = shop("smmcloud")
    reseller, stranger = make_reseller(), make_reseller("sam")
    service = service_of(provider, "Default")
    order_id = reseller.call("add", service=service.pk, **data_for(service))["order"]
    theirs = stranger.call("add", service=service.pk, **data_for(service))["order"]
    order = Order.objects.get(pk=order_id)

    assert reseller.call("status", order=order_id) == {
        "charge": money_text(order.charge),
        "start_count": "0",
        "status": "Pending",
        "remains": str(order.units),
        "currency": settings.PANEL_CURRENCY,
    }
    order_submit(order_id=order_id)
    server.sim.set_fate(Order.objects.get(pk=order_id).provider_order_id, "partial", remains=order.units // 4)
    settle(server, provider, order)
    assert order.status == Order.Status.PARTIAL and order.refunded > 0

    single = reseller.call("status", order=order_id)
    assert single["status"] == "Partial"
    assert Decimal(single["charge"]) == order.charge - order.refunded
    assert single["remains"] == str(order.units // 4)
    assert single["start_count"] == str(order.start_count)
    assert all(isinstance(value, str) for value in single.values())

    multi = reseller.call("status", orders=f"{order_id}, {theirs},abc,{order_id},999999")
    assert list(multi) == [str(order_id), str(theirs), "abc", "999999"]
    assert multi[str(order_id)] == single
    assert multi[str(theirs)] == {"error": "Incorrect order ID"}  # another customer's order
    assert multi["abc"] == multi["999999"] == {"error": "Incorrect order ID"}
    assert reseller.call("status", order=theirs) == {"error": "Incorrect order ID"}


def test_status_id_limits(reseller):
    assert reseller.call("status", orders=",".join(map(str, range(1, 102))))["error"].startswith(
        "Too many IDs"
    )
    assert reseller.call("status", orders=",".join(map(str, range(1, 10_001))))["error"].startswith(
        "Too many IDs"
    )
    assert reseller.call("status") == {"error": "Incorrect order ID"}
    assert reseller.call("status", orders=" , ") == {"error": "Incorrect order ID"}


def test_refill_refill_status_and_cancel_in_both_forms(shop, make_reseller):
    server, provider = shop("smmcloud")
    reseller = make_reseller(funds="1000")
    refillable = service_of(provider, "Default", refill=True)
    cancelable = service_of(provider, "Default", cancel=True)
    done = reseller.call("add", service=refillable.pk, **data_for(refillable))["order"]
    order_submit(order_id=done)
    settle(server, provider, Order.objects.get(pk=done))
    running = reseller.call("add", service=cancelable.pk, **data_for(cancelable, link="https://x.example/2"))[
        "order"
    ]
    queued = reseller.call("add", service=cancelable.pk, **data_for(cancelable, link="https://x.example/3"))[
        "order"
    ]
    order_submit(order_id=running)

    refill = reseller.call("refill", order=done)
    assert set(refill) == {"refill"} and isinstance(refill["refill"], str)
    refill_id = int(refill["refill"])
    assert Refill.objects.get(pk=refill_id).order_id == done
    # One refill in flight per order; the multi form answers per order.
    assert reseller.call("refill", orders=f"{done},{running},77777") == [
        {"order": done, "refill": {"error": "A refill of this order is already under way."}},
        {"order": running, "refill": {"error": "Only completed orders can be refilled."}},
        {"order": 77777, "refill": {"error": "Incorrect order ID"}},
    ]
    assert reseller.call("refill", order=running) == {"error": "Only completed orders can be refilled."}

    assert reseller.call("refill_status", refill=refill_id) == {"status": "Pending"}
    assert reseller.call("refill_status", refill="123456") == {"error": "Refill not found"}
    assert reseller.call("refill_status", refills=f"{refill_id},123456") == [
        {"refill": refill_id, "status": "Pending"},
        {"refill": 123456, "status": {"error": "Refill not found"}},
    ]

    balance = account_for(reseller.user).balance
    answer = reseller.call("cancel", orders=f"{queued},{running},{done},424242")
    assert answer[0] == {"order": queued, "cancel": 1}
    assert answer[1] == {"order": running, "cancel": 1}
    assert answer[2]["order"] == done and "error" in answer[2]["cancel"]
    assert answer[3] == {"order": 424242, "cancel": {"error": "Incorrect order ID"}}
    queued_order = Order.objects.get(pk=queued)
    assert queued_order.status == Order.Status.CANCELED
    assert account_for(reseller.user).balance == balance + queued_order.charge
    assert Order.objects.get(pk=running).cancel_requested_at is not None
    assert reseller.call("status", order=queued)["status"] == "Canceled"


def test_the_key_travels_in_the_body_a_query_string_json_or_a_header(client, reseller):
    expected = {"balance": "100.00", "currency": "USD"}
    assert client.get("/api/v2", {"key": reseller.key, "action": "balance"}).json() == expected
    body = json.dumps({"key": reseller.key, "action": "balance"})
    assert client.post("/api/v2/", body, content_type="application/json").json() == expected
    assert (
        client.post("/api/v2", {"action": "balance"}, HTTP_AUTHORIZATION=f"Bearer {reseller.key}").json()
        == expected
    )
    assert client.post("/api/v2", {"action": "balance"}, HTTP_X_API_KEY=reseller.key).json() == expected
    # JSON numbers and id lists are read as a form would carry them.
    answer = client.post(
        "/api/v2",
        json.dumps({"key": reseller.key, "action": "status", "orders": [1, 2]}),
        content_type="application/json",
    ).json()
    assert answer == {"1": {"error": "Incorrect order ID"}, "2": {"error": "Incorrect order ID"}}


def test_bad_rotated_and_disabled_keys_are_refused(client, reseller):
    from api.services import api_key_issue

    assert client.post("/api/v2", {"action": "balance"}).json() == {"error": "Invalid API key"}
    assert client.post("/api/v2", {"key": "nope", "action": "balance"}).json() == {"error": "Invalid API key"}
    forged = reseller.key[:9] + "x" * 32
    assert client.post("/api/v2", {"key": forged, "action": "balance"}).json() == {"error": "Invalid API key"}
    old = reseller.key
    _, new = api_key_issue(user=reseller.user)
    assert client.post("/api/v2", {"key": old, "action": "balance"}).json() == {"error": "Invalid API key"}
    assert "balance" in client.post("/api/v2", {"key": new, "action": "balance"}).json()
    reseller.user.is_active = False
    reseller.user.save()
    assert client.post("/api/v2", {"key": new, "action": "balance"}).json() == {
        "error": "This account is disabled"
    }


def test_the_cached_key_follows_every_writer_at_once(client, make_reseller):
    """The live keys are cached (api.services.live_keys): each change below comes right after a call that
    cached the key, and must be seen by the next."""
    from django.contrib.auth.models import User

    from accounts.services import customers_disable, customers_enable
    from api.models import ApiKey
    from api.services import api_key_issue, api_keys_revoke

    def answer(key):
        return client.post("/api/v2", {"key": key, "action": "balance"}).json()

    rita = make_reseller("rita")
    assert "balance" in answer(rita.key)
    api_keys_revoke(ApiKey.objects.filter(user=rita.user))
    assert answer(rita.key) == {"error": "Invalid API key"}
    _, key = api_key_issue(user=rita.user)
    assert "balance" in answer(key)
    ApiKey.objects.get(user=rita.user, revoked_at__isnull=True).delete()
    assert answer(key) == {"error": "Invalid API key"}

    olga = make_reseller("olga")
    assert "balance" in answer(olga.key)
    customers_disable(users=User.objects.filter(pk=olga.user.pk))
    assert answer(olga.key) == {"error": "Invalid API key"}
    customers_enable(users=User.objects.filter(pk=olga.user.pk))
    _, key = api_key_issue(user=olga.user)
    assert "balance" in answer(key)


MALFORMED = [
    ("no action", {"data": {}}, "Incorrect request"),
    ("unknown action", {"data": {"action": "steal"}}, "Incorrect request"),
    ("unknown field", {"data": {"action": "balance", "evil": "1"}}, "Unknown field: evil"),
    (
        "NUL character",
        {"data": {"action": "add", "service": "1", "link": "https://a\x00b"}},
        "Incorrect request: a NUL character in link",
    ),
    ("broken JSON", {"data": "{not json", "content_type": "application/json"}, "Incorrect request"),
    ("JSON list", {"data": "[1, 2]", "content_type": "application/json"}, "Incorrect request"),
    (
        "JSON object value",
        {"data": '{"action": {"a": 1}}', "content_type": "application/json"},
        "Incorrect request",
    ),
    (
        "deep JSON",
        {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"},
        "Incorrect request",
    ),
    (
        "bad UTF-8 JSON",
        {"data": b'{"action": "\xff\xfe"}', "content_type": "application/json"},
        "Incorrect request",
    ),
    ("XML", {"data": "<xml/>", "content_type": "application/xml"}, "Incorrect request"),
    (
        "huge body",
        {"data": "x" * (1024 * 1024 + 1), "content_type": "text/plain"},
        "Request too large: 1048576 bytes at most",
    ),
]


@pytest.mark.parametrize(
    ("request_kwargs", "error"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_requests_get_an_error_and_write_nothing(client, reseller, request_kwargs, error):
    data = request_kwargs["data"]
    if isinstance(data, dict):
        data = {"key": reseller.key, **data}
        response = client.post("/api/v2", data)
    else:
        response = client.post(
            "/api/v2", data, content_type=request_kwargs["content_type"], HTTP_X_API_KEY=reseller.key
        )
    assert response.status_code == 200
    assert response.json() == {"error": error}
    assert not Order.objects.exists()


def test_form_with_invalid_utf8_and_a_file_upload(client, reseller):
    body = b"key=" + reseller.key.encode() + b"&action=balance&link=%FF%FE"
    response = client.post("/api/v2", body, content_type="application/x-www-form-urlencoded")
    assert response.json() == {"balance": "100.00", "currency": "USD"}
    upload = SimpleUploadedFile("a.txt", b"x")
    response = client.post("/api/v2", {"key": reseller.key, "action": "add", "link": upload})
    assert response.json() == {"error": "Incorrect request"}


def test_other_methods_are_refused_in_the_api_shape(client, reseller):
    response = client.put(
        "/api/v2", f"key={reseller.key}&action=balance", content_type="application/x-www-form-urlencoded"
    )
    assert response.json() == {"error": "Incorrect request"}


def test_each_key_is_rate_limited_with_429_and_retry_after(client, reseller, make_reseller):
    other = make_reseller("olga")
    with override_settings(API_RATE_LIMIT="3/min"):
        for _ in range(3):
            assert "balance" in reseller.call("balance")
        response = client.post("/api/v2", {"key": reseller.key, "action": "balance"})
        assert response.status_code == 429
        assert response.json()["error"].startswith("Too many requests: try again in")
        assert int(response["Retry-After"]) > 0
        assert "balance" in other.call("balance")  # another key has its own budget


def test_every_call_is_logged_per_key_without_the_key(reseller, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    reseller.call("balance")
    reseller.call("add", service=service.pk, **{**data_for(service), "quantity": "1"})
    reseller.call("frobnicate")
    log = list(ApiRequest.objects.filter(user=reseller.user).order_by("pk"))
    assert [(entry.action, entry.error) for entry in log] == [
        ("balance", ""),
        ("add", f"Quantity less than minimal {service.min_quantity}"),
        ("frobnicate", "Incorrect request"),
    ]
    assert all(entry.interface == "v2" and entry.http_status == 200 and entry.api_key.prefix for entry in log)
    assert not any(reseller.key in str(vars(entry)) for entry in log)


def test_queries_per_call_do_not_grow_with_the_number_of_ids(shop, make_reseller):
    _, provider = shop("smmcloud")
    reseller = make_reseller(funds="100000")
    service = service_of(provider, "Default")
    ids = [
        reseller.call("add", service=service.pk, **data_for(service, link=f"https://x.example/{n}"))["order"]
        for n in range(100)
    ]

    def queries(action, **fields):
        with CaptureQueriesContext(connection) as captured:
            reseller.call(action, **fields)
        return len(captured)

    assert queries("status", order=ids[0]) == queries("status", orders=",".join(map(str, ids)))
    assert queries("add", service=service.pk, **data_for(service)) == queries(
        "add", service=service.pk, **data_for(service)
    )
    # Exact, so that one statement more fails (bench/api_throughput.py counts them as served). Here the test's
    # transaction turns BEGIN/COMMIT into savepoints, the log row is one INSERT of it, and the key and the
    # customer's prices come from the cache. add: the service, its routes; the order and its event; the
    # charge (the account locked by its user, balance, ledger entry, low-balance preferences: no savepoint of
    # its own, no read of the account before it nor of the new order's idempotency key); the log row.
    assert queries("add", service=service.pk, **data_for(service)) == 11
    assert queries("status", orders=",".join(map(str, ids))) == 2  # the orders; the log row


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the unflushed commit: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_call_outside_any_transaction_logs_in_one_statement_that_does_not_wait_for_the_disk(reseller):
    with CaptureQueriesContext(connection) as captured:
        reseller.call("balance")
    logged = [query["sql"] for query in captured.captured_queries if "api_apirequest" in query["sql"]]
    assert len(logged) == 1 and logged[0].startswith("SET LOCAL synchronous_commit TO OFF; INSERT")
    entry = ApiRequest.objects.get(user=reseller.user)
    assert (
        entry.api_key.prefix,
        entry.interface,
        entry.action,
        entry.http_status,
        entry.error,
        entry.ip,
    ) == (
        reseller.key.partition(".")[0],
        "v2",
        "balance",
        200,
        "",
        "127.0.0.1",
    )
    with connection.cursor() as cursor:  # the setting was the statement's own transaction's
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_api_v2_is_answered_before_the_websites_middlewares_in_english_whatever_ran_before(
    client, shop, reseller
):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    # A page in Russian leaves Russian active in the thread; a signed-in browser carries a session cookie.
    client.get("/", HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(reseller.user)
    for path in ("/api/v2", "/api/v2/"):
        response = client.post(
            path, {"key": reseller.key, "action": "status", "order": "x"}, HTTP_ACCEPT_LANGUAGE="ru"
        )
        assert response.json() == {"error": "Incorrect order ID"}
        assert int(response["Content-Length"]) == len(response.content)  # CommonMiddleware still ran
        # No session was read or saved, no page policy or language negotiated: none of those middlewares ran.
        assert not response.cookies and "Content-Security-Policy" not in response and "Vary" not in response
    client.get("/", HTTP_ACCEPT_LANGUAGE="ru")
    fields = {"key": reseller.key, "action": "add", "service": service.pk, "link": "https://x.example/1"}
    response = client.post("/api/v2", {**fields, "quantity": "x"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.json() == {"error": "quantity: Enter a whole number."}
