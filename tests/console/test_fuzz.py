"""Fuzzing the operator console as the Owner: every admin changelist with hostile query strings (sorting,
pages, search, every filter the page offers, the date hierarchy, unknown names), every admin page with
hostile object ids, the console pages, and every action posted with garbage. Never a server error, and an
action that selected nothing changes nothing.
"""

import re
from decimal import Decimal
from urllib.parse import parse_qsl, unquote

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import RequestFactory
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from api.models import ApiKey
from api.services import api_key_issue
from billing.models import Account, LedgerEntry, TopUp
from billing.services import account_for, balance_deposit
from billing.topups import topup_request
from catalogue.models import Service
from orders.models import Order, Refill
from orders.services import order_place
from panels.models import Provider
from tests.hostile import FUZZ, classes, get, hostile, pairs_of, paths, post, routes

pytestmark = pytest.mark.django_db

# Values that mean something to the admin's own parameters, beside the hostile ones.
ADMIN_VALUES = ["abc", "-1", "0", "99999", "1.-2.x", "-", "created_at", "?", "status__exact=paid", "1&o=-9"]
EXTRA_NAMES = ["o", "p", "q", "e", "all", "_changelist_filters", "_popup", "_to_field", "_facets"]
DATE_PARTS = ["__year", "__month", "__day", "__gte", "__lt", "__isnull"]
ACTION_FIELDS = [
    *["index", "confirmed", "note", "provider_order_id", "provider_refill_id", "amount", "reason"],
    *["percent", "markup", "service", "provider_service", "status", "days", "apply"],
]


def snapshot() -> dict:
    """What an action could change: rows and the fields that carry state and money."""
    return {
        "orders": list(
            Order.objects.order_by("pk").values_list("pk", "status", "refunded", "review_resolved_at")
        ),
        "ledger": LedgerEntry.objects.count(),
        # (Pages may open an empty account for the staff user looking at them: not a change.)
        "balances": list(Account.objects.exclude(balance=0).order_by("pk").values_list("pk", "balance")),
        "users": list(User.objects.order_by("pk").values_list("pk", "is_active")),
        "top-ups": list(TopUp.objects.order_by("pk").values_list("pk", "status")),
        "refills": list(Refill.objects.order_by("pk").values_list("pk", "status", "provider_refill_id")),
        "services": list(Service.objects.order_by("pk").values_list("pk", "status", "price")),
        "providers": list(Provider.objects.order_by("pk").values_list("pk", "enabled")),
        "api keys": list(ApiKey.objects.order_by("pk").values_list("pk", "revoked_at")),
    }


@pytest.fixture
def owner_console(client, on_sale):
    """The Owner logged in, over a panel with a bit of everything (orders, top-ups, refills, keys)."""
    owner = User.objects.create_user("owner", password="pw", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    customer = User.objects.create_user("cust")
    balance_deposit(account=account_for(customer), amount=Decimal(1000))
    service = on_sale("Default", refill=True, cancel=True)
    on_sale("Custom Comments")
    for n in range(3):
        order_place(user=customer, service=service, data={"link": f"https://x.example/{n}", "quantity": "10"})
    Order.objects.filter(pk=Order.objects.first().pk).update(status=Order.Status.COMPLETED)
    topup_request(user=customer, amount=Decimal(5), method="manual", reference="R1")
    api_key_issue(user=customer)
    client.force_login(owner)
    return client


def changelists() -> list[tuple[str, object]]:
    return [
        (reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"), model_admin)
        for model, model_admin in admin.site._registry.items()
    ]


def offered_names(page: str, model_admin) -> list[str]:
    """The parameters a changelist offers in its links (filters, sorting, date hierarchy) and the ones it
    reads without offering them."""
    names = {
        name
        for link in re.findall(r'href="\?([^"]*)"', page)
        for name, _ in parse_qsl(unquote(link.replace("&amp;", "&")))
    }
    if model_admin.date_hierarchy:
        names |= {model_admin.date_hierarchy + part for part in DATE_PARTS}
    return sorted(names | set(EXTRA_NAMES))


def real_ids() -> set[int]:
    return {
        pk
        for model in admin.site._registry
        for pk in model._default_manager.values_list("pk", flat=True)
        if isinstance(pk, int)
    }


def selects_nothing(value: str, ids: set[int]) -> bool:
    """A hostile id that no row has, however an integer field reads it (int() takes " 3" and "٣")."""
    try:
        return int(value) not in ids
    except ValueError:
        return True


def test_every_changelist_with_every_class_of_hostile_value_in_every_parameter(owner_console):
    before = snapshot()
    for url, model_admin in changelists():
        page = owner_console.get(url)
        assert page.status_code < 500, url
        if page.status_code != 200:
            continue
        names = offered_names(page.content.decode(), model_admin)
        for value in [*classes(), *ADMIN_VALUES]:
            response = get(owner_console, url, [(name, value) for name in names])
            assert response.status_code < 500, (url, value)
    assert snapshot() == before


def test_changelists_with_mixed_hostile_query_strings(owner_console):
    pages = []
    for url, model_admin in changelists():
        page = owner_console.get(url)
        if page.status_code == 200:
            pages.append((url, offered_names(page.content.decode(), model_admin)))
    # Real values from the filters' own links, mixed with hostile ones and repeated names.
    values = st.one_of(hostile, st.sampled_from(ADMIN_VALUES), st.sampled_from(["1", "2", "0", "completed"]))

    @given(page=st.sampled_from(pages), data=st.data())
    @FUZZ
    def fuzz(page, data):
        url, names = page
        pairs = data.draw(pairs_of(names, values=values, max_size=6))
        response = get(owner_console, url, pairs)
        assert response.status_code < 500, (url, pairs)

    fuzz()


def test_every_admin_and_console_page_with_hostile_ids_and_query_strings(owner_console):
    ids = sorted(real_ids())[:5]

    @given(
        path=paths(routes(under="admin/"), ids),
        pairs=pairs_of(["days", "q", "o", "p", "_changelist_filters", "ledger_page"]),
    )
    @FUZZ
    def fuzz(path, pairs):
        response = get(owner_console, path, pairs)
        assert response.status_code < 500, (path, pairs)

    fuzz()
    customer = f"/admin/console/customer/{User.objects.filter(is_staff=False).earliest('pk').pk}/"
    for value in [*classes(), "7", "30", "90", "-7", "999999999"]:
        for page in ["/admin/console/dashboard/", "/admin/console/review/", customer]:
            pairs = [("days", value), ("page", value), ("ledger_page", value)]
            assert get(owner_console, page, pairs).status_code < 500, (
                page,
                value,
            )


def test_actions_posted_with_garbage_change_nothing(owner_console):
    ids = real_ids()
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="owner")
    pages = [(url, sorted(model_admin.get_actions(request))) for url, model_admin in changelists()]
    garbage_ids = hostile.filter(lambda value: selects_nothing(value, ids))

    @given(page=st.sampled_from(pages), data=st.data())
    @FUZZ
    def fuzz(page, data):
        url, actions = page
        pairs = [("action", data.draw(st.one_of(st.sampled_from(actions or ["none"]), hostile)))]
        pairs += [("_selected_action", value) for value in data.draw(st.lists(garbage_ids, max_size=3))]
        pairs += data.draw(pairs_of(ACTION_FIELDS, max_size=6))
        before = snapshot()
        response = post(owner_console, url, pairs)
        assert response.status_code < 500, (url, pairs)
        assert snapshot() == before, (url, pairs)

    fuzz()


def test_actions_on_real_rows_with_garbage_answers_never_fail(owner_console):
    """The forms that actions ask first (attach, refund, reject, reprice, adjust…) with hostile answers."""
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="owner")
    pages = [
        (url, sorted(actions), list(model_admin.model._default_manager.values_list("pk", flat=True)[:5]))
        for url, model_admin in changelists()
        if (actions := model_admin.get_actions(request))
    ]

    @given(page=st.sampled_from(pages), data=st.data())
    @FUZZ
    def fuzz(page, data):
        url, actions, ids = page
        pairs = [("action", data.draw(st.sampled_from(actions))), ("index", "0"), ("confirmed", "1")]
        pairs += [
            ("_selected_action", str(pk))
            for pk in data.draw(st.lists(st.sampled_from(ids or [1]), max_size=2))
        ]
        pairs += data.draw(pairs_of(ACTION_FIELDS, max_size=6))
        response = post(owner_console, url, pairs)
        assert response.status_code < 500, (url, pairs)

    fuzz()


def test_every_admin_form_posted_with_garbage(owner_console):
    """Add and change forms of every model page and the console's own forms, every field hostile."""
    names = sorted(
        {field.name for model in admin.site._registry for field in model._meta.get_fields() if field.concrete}
        | set(ACTION_FIELDS)
    )
    ids = sorted(real_ids())[:5]

    @given(path=paths(routes(under="admin/"), ids), pairs=pairs_of(names, max_size=12))
    @FUZZ
    def fuzz(path, pairs):
        response = post(owner_console, path, pairs)
        assert response.status_code < 500, (path, pairs)

    fuzz()


def test_the_500s_the_fuzzer_found(owner_console):
    order = Order.objects.first()
    before = snapshot()
    for selection in ["", "abc", "²", "9999999999999999999"]:  # the last: past a 64-bit id (SQLite)
        response = owner_console.post(
            "/admin/orders/order/",
            {"action": "refund", "_selected_action": [selection, order.pk], "index": "0"},
        )
        assert response.status_code == 400
    assert snapshot() == before
    AccessAttempt.objects.create(
        username="cust", ip_address="127.0.0.1", user_agent="t", failures_since_start=1
    )
    response = owner_console.post(
        "/admin/axes/accessattempt/",
        {
            "action": "cleanup_expired_attempts",
            "_selected_action": [AccessAttempt.objects.get().pk],
            "index": "0",
        },
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=9999999999999999999",  # OverflowError building the period's start
        "created_at__year=9999",  # its end, the year after 9999
        "created_at__year=9999&created_at__month=12",
        "created_at__year=9999&created_at__month=12&created_at__day=31",
        "created_at__year=2026&created_at__month=99999999999999999999",
    ],
)
def test_a_date_hierarchy_past_the_calendar_is_a_400(owner_console, query):
    """Found with a thousand examples a run: every changelist with a date hierarchy answered these with a 500.
    The long lists (orders, their events, the ledger) have none (their dates are a range): they refuse date
    parts made by hand."""
    assert owner_console.get(f"/admin/audit/auditentry/?{query}").status_code == 400
    assert (
        owner_console.get("/admin/audit/auditentry/?created_at__year=2026&created_at__month=2").status_code
        == 200
    )
    for long_list in ["orders/order", "orders/orderevent", "billing/ledgerentry"]:
        assert owner_console.get(f"/admin/{long_list}/?{query}").status_code == 400
