"""Every way an order comes in (API v2, REST, storefront, mass order) reads lines and numbers one way: what
is charged is what the provider counts, numbers are ASCII digits, and a refused order writes nothing."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from api.services import api_key_issue
from billing.models import LedgerEntry
from billing.services import account_for, balance_deposit
from orders.mass_orders import mass_order_place
from orders.models import Order
from orders.services import order_submit
from tests.orders.support import service_of
from tests.storefront.support import rendered

pytestmark = pytest.mark.django_db

ARABIC = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
FULL_WIDTH = str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
# Ten comments as a customer might paste them: every kind of line break, blank and invisible lines between.
PASTED = "one\rtwo\u2028three\u2029four\x85five\r\nsix\vseven\fEight\x1cnine\n\u200b\n  \nten\n"
TEN = "one\ntwo\nthree\nfour\nfive\nsix\nseven\nEight\nnine\nten"


@pytest.fixture
def user(db, client):
    user = User.objects.create_user("rita")
    balance_deposit(account=account_for(user), amount=Decimal("100"))
    user.key = api_key_issue(user=user)[1]
    client.force_login(user)
    return user


def v2(client, user, **fields):
    response = client.post("/api/v2", {"key": user.key, **fields})
    assert response.status_code == 200
    return json.loads(response.content)


def rest(client, user, data):
    return client.post(
        "/api/v1/orders/", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {user.key}"
    )


def place_comments(path, client, user, service):
    data = {"link": "https://x.example/post", "comments": PASTED}
    if path == "v2":
        assert "order" in v2(client, user, action="add", service=service.pk, **data)
    elif path == "rest":
        assert rest(client, user, {"service": service.pk, **data}).status_code == 201
    else:
        client.post("/order/", rendered({"service": service.pk, **data}))
    return Order.objects.get()


@pytest.mark.parametrize("path", ["v2", "rest", "storefront"])
def test_every_path_charges_the_lines_the_provider_counts(shop, user, client, path):
    # A provider that splits on every line boundary (\r, U+2028…), as some do.
    server, provider = shop("smmcloud", lines_split_everywhere=True)
    comments = service_of(provider, "Custom Comments")  # at least 10 lines
    comments.min_quantity = 10
    comments.save()

    order = place_comments(path, client, user, comments)
    order_submit(order_id=order.pk)
    order.refresh_from_db()

    assert order.fields["comments"] == TEN and order.units == 10
    assert order.charge == (order.price * 10 / 1000).quantize(Decimal("0.0001"))
    upstream = server.sim.order(order.provider_order_id)
    assert upstream.quantity == order.units  # the provider counts exactly what was charged
    assert upstream.fields["comments"] == TEN


def test_the_mass_order_sends_no_line_fields(shop, user):
    _, provider = shop("smmcloud")
    comments = service_of(provider, "Custom Comments")
    [line] = mass_order_place(user=user, text=f"{comments.pk}|https://x.example/p|10")
    assert "need more fields" in line.error and not Order.objects.exists()


@pytest.mark.parametrize("digits", [ARABIC, FULL_WIDTH])
def test_numbers_in_other_scripts_are_refused_on_every_path(shop, user, client, digits):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    quantity = str(service.min_quantity * 2).translate(digits)
    link = "https://x.example/post"

    answer = v2(client, user, action="add", service=service.pk, link=link, quantity=quantity)
    assert answer == {"error": "quantity: Write it with the digits 0-9 only."}
    answer = v2(
        client, user, action="add", service=str(service.pk).translate(digits), link=link, quantity="100"
    )
    assert answer == {"error": "Incorrect service ID"}
    response = rest(client, user, {"service": service.pk, "link": link, "quantity": quantity})
    assert response.status_code == 400 and list(response.json()) == ["quantity"]
    response = rest(
        client, user, {"service": str(service.pk).translate(digits), "link": link, "quantity": 100}
    )
    assert response.status_code == 400 and list(response.json()) == ["service"]
    page = client.post("/order/", rendered({"service": service.pk, "link": link, "quantity": quantity}))
    assert "Write it with the digits 0-9 only." in page.content.decode()
    [line] = mass_order_place(user=user, text=f"{service.pk}|{link}|{quantity}")
    assert line.order is None and "quantity" in line.error

    assert not Order.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()


def test_api_v2_ids_in_other_scripts_name_no_order(shop, user, client):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    placed = v2(client, user, action="add", service=service.pk, link="https://x.example/a", quantity="100")
    order_id = str(placed["order"])

    assert v2(client, user, action="status", order=order_id)["status"] == "Pending"
    for digits in (ARABIC, FULL_WIDTH):
        other = order_id.translate(digits)
        assert v2(client, user, action="status", order=other) == {"error": "Incorrect order ID"}
        assert v2(client, user, action="status", orders=f"{order_id},{other}") == {
            order_id: v2(client, user, action="status", order=order_id),
            other: {"error": "Incorrect order ID"},
        }
        assert v2(client, user, action="refill", order=other) == {"error": "Incorrect order ID"}
        assert v2(client, user, action="refill_status", refill=other) == {"error": "Refill not found"}


def test_a_subscription_of_999999999999_posts_is_a_field_error_and_writes_nothing(shop, user, client):
    _, provider = shop("smmcloud")
    subscription = service_of(provider, "Subscriptions")
    low = str(subscription.min_quantity)
    fields = {"username": "star", "min": low, "max": low, "delay": "0"}

    answer = v2(client, user, action="add", service=subscription.pk, posts="999999999999", **fields)
    assert answer == {"error": "posts: Posts must be a whole number from 1 to 100000."}
    response = rest(client, user, {"service": subscription.pk, "posts": 999999999999, **fields})
    assert response.status_code == 400 and list(response.json()) == ["posts"]
    # Within every bound but more than the balance: refused before the order row is written.
    answer = v2(client, user, action="add", service=subscription.pk, posts="100000", **fields)
    assert answer == {"error": "Not enough funds on balance"}

    assert not Order.objects.exists()
    assert account_for(user).balance == Decimal("100")
