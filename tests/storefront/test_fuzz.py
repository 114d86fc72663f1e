"""Fuzzing every storefront and account page, as a visitor and as a customer: whatever the query string or
the form says, never a server error, and a refused request writes nothing.

The pages are every URL route outside the admin and the APIs (new pages are fuzzed without being listed);
the names are every query parameter the views read and every field of every form, plus unknown ones; the
values are hostile (tests/hostile.py). Examples are derandomized: each run sends the same requests.
"""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.models import ApiKey
from billing.models import LedgerEntry, TopUp
from billing.topups import topup_request
from orders.models import Order, Refill
from orders.services import order_place
from storefront.models import FormSubmission
from storefront.submissions import TOKEN_FIELD, submission_token_new
from tests.hostile import FUZZ, classes, get, hostile, pairs_of, paths, post, routes
from tests.storefront.support import rendered

pytestmark = pytest.mark.django_db

ROUTES = routes(excluding=("admin/", "api/v1/", "api/v2"))
GET_NAMES = ["q", "category", "service", "status", "page", "next", "days", "o", "p"]
POST_NAMES = [
    *["service", "link", "quantity", "comments", "username", "usernames", "hashtags", "hashtag", "media"],
    *["groups", "keywords", "answer_number", "min", "max", "delay", "runs", "interval", "posts", "old_posts"],
    *["expiry", "orders", "amount", "method", "reference", TOKEN_FIELD, "revoke", "pay", "return", "topup"],
    *["status", "signature", "gateway_reference", "email", "password", "password1", "password2", "timezone"],
    *[
        "old_password",
        "new_password1",
        "new_password2",
        "code",
        "next",
        "token",
        "otp_token",
        "recovery_code",
    ],
]
COUNTED = {
    "orders": Order.objects,
    "ledger": LedgerEntry.objects,
    "top-ups": TopUp.objects,
    "refills": Refill.objects,
    "api keys": ApiKey.objects,
    "form submissions": FormSubmission.objects,
}
# Pages whose answer to an accepted POST is a page (not a redirect), and what they may write then.
WRITES_ON_A_PAGE = {"/order/mass/": {"orders", "ledger", "form submissions"}, "/account/api/": {"api keys"}}


def counts() -> dict[str, int]:
    return {name: manager.count() for name, manager in COUNTED.items()}


@pytest.fixture
def fuzzed_storefront(on_sale, make_customer):
    """Services of several types on sale, a customer with orders and a top-up, and another customer's order."""
    services = [
        on_sale("Default", dripfeed=True, refill=True, cancel=True),
        on_sale("Custom Comments"),
        on_sale("Subscriptions"),
        on_sale("Poll"),
        on_sale("Package", min_quantity=1, max_quantity=1),
    ]
    customer, other = make_customer("fuzz", funds="100000"), make_customer("other")
    data = {"link": "https://x.example/p", "quantity": "10"}
    mine = order_place(user=customer, service=services[0], data=data)
    theirs = order_place(user=other, service=services[0], data=data)
    topup = topup_request(user=customer, amount=Decimal(10), method="sandbox")
    return customer, [service.pk for service in services], [mine.pk, theirs.pk, topup.pk]


def plausible(service_ids: list[int]):
    """Values that get past the first checks, so that the deeper ones are reached too."""
    return st.one_of(
        hostile,
        st.sampled_from(service_ids).map(str),
        st.sampled_from(["https://x.example/p", "10", "100", "manual", "sandbox", "a\nb\nc", "Europe/Paris"]),
        st.builds(submission_token_new),
    )


def concrete(route: str, ids: list[int]) -> str:
    """The route with its first id (the customer's own order) in every placeholder."""
    return "/" + re.sub(r"<(?:\w+:)?\w+>", str(ids[0]), route)


@pytest.mark.parametrize("as_customer", [False, True], ids=["visitor", "customer"])
def test_every_hostile_value_in_every_query_parameter_of_every_page(client, fuzzed_storefront, as_customer):
    """The sweep: a value of each class in all the parameters at once, on every page."""
    customer, _service_ids, ids = fuzzed_storefront
    if as_customer:
        client.force_login(customer)
    before = counts()
    for value in classes():
        for route in ROUTES:
            path = concrete(route, ids)
            response = get(client, path, [(name, value) for name in GET_NAMES])
            assert response.status_code < 500, (path, value)
    assert counts() == before


def test_every_hostile_value_in_every_field_of_every_form(client, fuzzed_storefront):
    """The sweep: a value of each class in every field at once (beside a real service and a fresh token, so
    that the fields are read), posted to every page by a customer."""
    customer, service_ids, ids = fuzzed_storefront
    fields = [name for name in POST_NAMES if name not in ("service", TOKEN_FIELD)]
    for number, value in enumerate(classes()):
        for route in ROUTES:
            path = concrete(route, ids)
            service = str(service_ids[number % len(service_ids)])
            pairs = [("service", service), (TOKEN_FIELD, submission_token_new())]
            pairs += [(name, value) for name in fields if name != "orders"]
            # A mass order's lines are fields too: the value in each part of a line.
            lines = [
                value,
                f"{value}|https://x.example/p|10",
                f"{service}|{value}|10",
                f"{service}|{value}|{value}",
            ]
            pairs.append(("orders", "\n".join(lines)))
            before = counts()
            response = post(client, path, pairs)
            assert response.status_code < 500, (path, value)
            if response.status_code != 302 and path != "/account/api/":
                assert counts() == before, (path, value)
            if path == "/accounts/logout/":
                client.force_login(customer)


@pytest.mark.parametrize("as_customer", [False, True], ids=["visitor", "customer"])
def test_no_query_string_breaks_a_page(client, fuzzed_storefront, as_customer):
    customer, _service_ids, ids = fuzzed_storefront

    @given(path=paths(ROUTES, ids), pairs=pairs_of(GET_NAMES))
    @FUZZ
    def fuzz(path, pairs):
        if as_customer:
            client.force_login(customer)
        before = counts()
        response = get(client, path, pairs)
        assert response.status_code < 500, (path, pairs)
        assert counts() == before, (path, pairs)

    fuzz()


@pytest.mark.parametrize("as_customer", [False, True], ids=["visitor", "customer"])
def test_no_form_breaks_a_page_and_a_refused_one_writes_nothing(client, fuzzed_storefront, as_customer):
    customer, service_ids, ids = fuzzed_storefront

    @given(path=paths(ROUTES, ids), pairs=pairs_of(POST_NAMES, values=plausible(service_ids), max_size=10))
    @FUZZ
    def fuzz(path, pairs):
        if as_customer:
            client.force_login(customer)
        before = counts()
        response = post(client, path, pairs)
        assert response.status_code < 500, (path, pairs)
        after = counts()
        if response.status_code == 302:
            return  # accepted (or sent to the login page)
        changed = {name for name in before if before[name] != after[name]}
        assert changed <= WRITES_ON_A_PAGE.get(path, set()), (path, pairs, changed)
        if path == "/order/mass/" and changed:
            accepted = int(re.search(r"(\d+) accepted", response.content.decode())[1])
            assert after["orders"] - before["orders"] == accepted, (pairs, response.content.decode())

    fuzz()


def test_the_500s_the_fuzzer_found(client, fuzzed_storefront):
    customer, _, _ = fuzzed_storefront
    assert client.post("/accounts/login/", {"username": "x" * 5000, "password": "x"}).status_code == 200
    client.force_login(customer)
    assert client.get("/services/?q=²").status_code == 200
    assert client.get("/orders/?q=²").status_code == 200
    for service in ["abc", " ", "٣", "9" * 40]:
        assert client.get("/order/", {"service": service}).status_code == 200
        assert client.post("/order/quote/", {"service": service}).status_code == 200
    page = client.post(
        "/order/mass/", rendered({"orders": "²|https://x.example/p|10\n٣|https://x.example/p|10"})
    ).content.decode()
    assert "0 accepted, 2 refused" in page and not FormSubmission.objects.exists()
