"""The REST API: token auth, scoping to the caller, the same rules and money as API v2 and the website."""

from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from api.models import ApiRequest
from api.services import api_key_check
from billing.money import to_money
from billing.services import account_for
from catalogue.models import CustomerPricing, Service
from orders.models import Order
from orders.services import order_submit
from tests.orders.support import data_for, service_of, settle

pytestmark = pytest.mark.django_db


def test_every_endpoint_needs_a_key(client):
    for path in ["services/", "orders/", "orders/1/", "refills/", "balance/", "ledger/", "requests/"]:
        response = client.get(f"/api/v1/{path}")
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/balance/", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_x_api_key_header_and_balance(client, reseller):
    response = client.get("/api/v1/balance/", HTTP_X_API_KEY=reseller.key)
    assert response.json() == {"balance": "100.0000", "currency": settings.PANEL_CURRENCY}


def test_services_at_the_callers_prices_paginated(shop, reseller):
    shop("smmcool")
    CustomerPricing.objects.create(user=reseller.user, discount_percent=Decimal(20))
    page = reseller.rest("get", "services/?page_size=2").json()
    assert page["count"] == Service.objects.count() and len(page["results"]) == 2 and page["next"]
    first = page["results"][0]
    assert Decimal(first["rate"]) == to_money(Service.objects.get(pk=first["id"]).price * Decimal("0.8"))
    assert {"id", "name", "type", "rate", "currency", "min", "max", "refill", "cancel", "dripfeed"} <= set(
        first
    )
    filtered = reseller.rest("get", "services/?type=Poll").json()["results"]
    assert filtered and all(entry["type"] == "Poll" for entry in filtered)


def test_place_an_order_follow_it_and_see_only_public_history(shop, reseller):
    server, provider = shop("smmcloud")
    service = service_of(provider, "Default", refill=True)
    response = reseller.rest(
        "post",
        "orders/",
        {"service": service.pk, "link": "https://x.example/a", "quantity": service.min_quantity},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "Pending" and created["quantity"] == service.min_quantity
    assert created["history"] == [
        {
            "created_at": created["history"][0]["created_at"],
            "message": f"Placed: charged {created['charge']}.",
        }
    ]

    order = Order.objects.get(pk=created["id"])
    order_submit(order_id=order.pk)
    settle(server, provider, order)
    detail = reseller.rest("get", f"orders/{order.pk}/").json()
    assert detail["status"] == "Completed"
    messages = [line["message"] for line in detail["history"]]
    assert messages[-1] == "Completed"
    text = str(detail)
    assert provider.name not in text and order.provider_order_id not in messages  # the provider stays ours

    refill = reseller.rest("post", f"orders/{order.pk}/refill/")
    assert refill.status_code == 201 and refill.json()["status"] == "Pending"
    again = reseller.rest("post", f"orders/{order.pk}/refill/")
    assert again.status_code == 400 and "already under way" in str(again.json())
    assert len(reseller.rest("get", f"refills/?order={order.pk}").json()["results"]) == 1


def test_order_errors_per_field_and_missing_funds(shop, make_reseller):
    _, provider = shop("smmcloud")
    reseller = make_reseller(funds="0.0001")
    service = service_of(provider, "Default")
    response = reseller.rest("post", "orders/", {"service": service.pk, "link": "nope", "quantity": 1})
    assert response.status_code == 400
    assert response.json() == {
        "link": ["Enter a full link starting with http:// or https://."],
        "quantity": [f"The minimum is {service.min_quantity}."],
    }
    assert reseller.rest("post", "orders/", {"service": 999999}).status_code == 400
    assert reseller.rest("post", "orders/", {"service": "x", "quantity": -1}).status_code == 400
    response = reseller.rest("post", "orders/", {"service": service.pk, **data_for(service)})
    assert response.status_code == 402 and response.json() == {"detail": "Not enough funds on balance"}
    assert not Order.objects.exists()


def test_orders_are_paged_by_cursor_without_a_count(shop, make_reseller):
    """Issue 13: a customer's history only grows; the list follows ``next`` links (a cursor), never counts
    the orders, and costs the same queries on every page. Page numbers are refused, not ignored."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, provider = shop("smmcloud")
    mine = make_reseller()
    service = service_of(provider, "Default")
    for n in range(7):
        mine.rest(
            "post", "orders/", {"service": service.pk, **data_for(service, link=f"https://x.example/{n}")}
        )
    newest_first = list(Order.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))
    seen, path, queries = [], "orders/?page_size=3", []
    while path:
        with CaptureQueriesContext(connection) as captured:
            page = mine.rest("get", path).json()
        queries.append(len(captured))
        assert "count" not in page
        assert not [
            query for query in captured if "COUNT(" in query["sql"].upper() and "orders_order" in query["sql"]
        ]
        seen += [entry["id"] for entry in page["results"]]
        path = page["next"] and page["next"].split("/api/v1/", 1)[1]
    assert seen == newest_first and len(queries) == 3 and len(set(queries)) == 1
    back = mine.rest("get", page["previous"].split("/api/v1/", 1)[1]).json()
    assert [entry["id"] for entry in back["results"]] == newest_first[3:6]
    refused = mine.rest("get", "orders/?page=2")
    assert refused.status_code == 400 and "cursor" in refused.json()["page"]


@pytest.mark.parametrize("listed", ["refills", "ledger"])
def test_refills_and_the_ledger_are_paged_by_cursor_without_a_count(shop, make_reseller, listed):
    """Issue 13: like the orders, a customer's refills and balance history only grow: ``next`` links, no
    count, the same queries on every page, page numbers refused."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.models import Refill

    _, provider = shop("smmcloud")
    mine, theirs = make_reseller(), make_reseller("tom")
    service = service_of(provider, "Default")
    for who in (mine, theirs):
        for n in range(3):
            who.rest(
                "post", "orders/", {"service": service.pk, **data_for(service, link=f"https://x.example/{n}")}
            )
    orders = Order.objects.all()
    Refill.objects.bulk_create(Refill(order=order, status=Refill.Status.COMPLETED) for order in orders)
    table, newest_first = {
        "refills": ("orders_refill", Refill.objects.filter(order__user=mine.user)),
        "ledger": ("billing_ledgerentry", account_for(mine.user).ledger.all()),
    }[listed]
    newest_first = list(newest_first.order_by("-created_at", "-pk").values_list("pk", flat=True))
    assert len(newest_first) in (3, 4)  # three refills; a deposit and three charges
    seen, path, queries = [], f"{listed}/?page_size=2", []
    while path:
        with CaptureQueriesContext(connection) as captured:
            page = mine.rest("get", path).json()
        queries.append(len(captured))
        assert "count" not in page
        assert not [query for query in captured if "COUNT(" in query["sql"].upper() and table in query["sql"]]
        seen += [entry["id"] for entry in page["results"]]
        path = page["next"] and page["next"].split("/api/v1/", 1)[1]
    assert seen == newest_first and len(set(queries)) == 1
    refused = mine.rest("get", f"{listed}/?page=2")
    assert refused.status_code == 400 and "cursor" in refused.json()["page"]


def test_orders_are_scoped_filtered_and_cancelable(shop, make_reseller):
    _, provider = shop("smmcloud")
    mine, theirs = make_reseller(), make_reseller("tom")
    service = service_of(provider, "Default", cancel=True)
    ids = [
        mine.rest(
            "post", "orders/", {"service": service.pk, **data_for(service, link=f"https://x.example/{n}")}
        ).json()["id"]
        for n in range(3)
    ]
    other = theirs.rest("post", "orders/", {"service": service.pk, **data_for(service)}).json()["id"]

    listed = mine.rest("get", "orders/").json()
    assert [entry["id"] for entry in listed["results"]] == ids[::-1]
    assert mine.rest("get", f"orders/{other}/").status_code == 404
    assert mine.rest("post", f"orders/{other}/cancel/").status_code == 404
    assert len(mine.rest("get", "orders/?link=x.example/1").json()["results"]) == 1

    balance = account_for(mine.user).balance
    response = mine.rest("post", f"orders/{ids[0]}/cancel/")
    assert response.status_code == 202 and response.json() == {"detail": "Canceled and refunded."}
    assert account_for(mine.user).balance == balance + Order.objects.get(pk=ids[0]).charge
    assert len(mine.rest("get", "orders/?status=canceled").json()["results"]) == 1
    assert len(mine.rest("get", "orders/?status=pending").json()["results"]) == 2
    assert mine.rest("post", f"orders/{ids[0]}/cancel/").status_code == 400

    ledger = mine.rest("get", "ledger/").json()["results"]
    assert [entry["kind"] for entry in ledger][:2] == ["refund", "charge"]
    assert Decimal(ledger[0]["balance_after"]) == account_for(mine.user).balance


def test_request_log_lists_only_the_callers_calls(reseller, make_reseller):
    other = make_reseller("una")
    reseller.call("balance")
    other.call("balance")
    reseller.rest("get", "balance/")
    log = reseller.rest("get", "requests/").json()["results"]
    assert [(entry["interface"], entry["action"]) for entry in log][:2] == [
        ("rest", "GET /api/v1/balance/"),
        ("v2", "balance"),
    ]
    assert {entry["key"] for entry in log} == {api_key_check(reseller.key).prefix}
    assert ApiRequest.objects.filter(user=other.user).count() == 1


def test_openapi_schema_is_valid_and_the_docs_pages_render(client):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content.lower()
    assert client.get("/api/v1/redoc/").status_code == 200


def test_createapikey_prints_a_working_key(db, django_user_model):
    django_user_model.objects.create_user("cara")
    out = StringIO()
    call_command("createapikey", "cara", stdout=out)
    key = out.getvalue().strip()
    assert api_key_check(key).user.username == "cara"
    with pytest.raises(CommandError, match="No user named"):
        call_command("createapikey", "nobody")


def test_old_request_log_rows_are_pruned(reseller, settings):
    from datetime import timedelta

    from django.utils import timezone

    from api.services import api_requests_prune

    reseller.call("balance")
    reseller.call("balance")
    ApiRequest.objects.filter(pk=ApiRequest.objects.first().pk).update(
        created_at=timezone.now() - timedelta(days=settings.API_REQUEST_LOG_DAYS + 1)
    )
    assert api_requests_prune() == 1
    assert ApiRequest.objects.count() == 1


def test_impossible_utc_offsets_are_a_400_not_a_500(reseller):
    # Found by the fuzzer: PostgreSQL refuses offsets beyond +-15:59.
    response = reseller.rest("get", "orders/?created_before=2000-01-01T00:00:00%2B16:00")
    assert response.status_code == 400 and "UTC offset" in str(response.json())
    assert reseller.rest("get", "orders/?created_before=2000-01-01T00:00:00%2B05:30").status_code == 200


@pytest.mark.parametrize("order", ["9.223372036854776e+18", "99999999999999999999", "0"])
def test_impossible_order_ids_in_the_refill_filter_are_a_400_not_a_500(reseller, order):
    # Found by the fuzzer on SQLite: an id past 64 bits cannot be compared there.
    response = reseller.rest("get", f"refills/?order={order}")
    assert response.status_code == 400 and "order" in response.json()
