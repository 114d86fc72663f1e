"""A panel can be another panel's provider: two instances, real HTTP, every order type, money both ways.

Panel A is this test process (a live server, with the simulators of both seed providers behind it). Panel B
is a second instance started with ``manage.py runpanel`` on its embedded defaults (its own SQLite database,
broker, worker and scheduler). B registers A as a provider with the key of A's customer "panel-b", imports
A's catalogue, and B's customer orders every type through B's API v2.
"""

import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import User

from api.services import api_key_issue
from billing.money import to_money
from billing.services import account_for, balance_deposit
from orders.models import Order, Refill
from orders.refills import refill_send, refills_sync_statuses
from orders.services import OPEN_UPSTREAM, order_cancel_send, order_submit, orders_sync_statuses
from tests.orders.support import FIELDS_BY_TYPE, LINE_FIELDS
from tests.running_panel import RunningPanel

pytestmark = pytest.mark.slow

BASE_DIR = Path(django_settings.BASE_DIR)


def fields_for(entry: dict, link: str) -> dict:
    """Valid ``add`` fields for a service as B's API v2 lists it."""
    data = dict(FIELDS_BY_TYPE[entry["type"]])
    if "link" in data:
        data["link"] = link
    if "quantity" in data:
        data["quantity"] = entry["min"]
    if entry["type"] in LINE_FIELDS:
        data[LINE_FIELDS[entry["type"]]] = "\n".join(f"line {n}" for n in range(int(entry["min"])))
    if entry["type"] == "Subscriptions":
        data.update({"min": entry["min"], "max": entry["min"], "posts": "2", "delay": "0"})
        data.pop("expiry")
        data.pop("old_posts")
    return data


def drive_panel_a(shops, *, advance: bool) -> None:
    """What panel A's worker and scheduler would do, one round: send, (let the simulators move,) sync."""
    for order_id in Order.objects.filter(status=Order.Status.QUEUED).values_list("pk", flat=True):
        order_submit(order_id=order_id)
    for refill_id in Refill.objects.filter(status=Refill.Status.REQUESTED).values_list("pk", flat=True):
        refill_send(refill_id=refill_id)
    for order_id in Order.objects.filter(
        cancel_requested_at__isnull=False, status__in=OPEN_UPSTREAM
    ).values_list("pk", flat=True):
        order_cancel_send(order_id=order_id)
    for server, provider in shops:
        if advance:
            server.sim.advance()
        orders_sync_statuses(provider=provider)
        refills_sync_statuses(provider=provider)


@pytest.fixture
def panel_b(tmp_path, unused_tcp_port):
    panel = RunningPanel(tmp_path, unused_tcp_port)
    yield panel
    panel.stop()


def set_up_as_reseller(panel: RunningPanel, migrated, url_of_a, key_at_a, *, funds, webhook=False):
    """Panel B set up by its operator's own commands: A as its provider, A's catalogue published at a 20 %
    markup, customer carol with ``funds`` and an API key. What addprovider said, and carol's key."""
    panel.migrate(migrated)
    added, synced, _, _, _, key = panel.commands(
        ("addprovider", "Panel A", url_of_a, key_at_a, "--calls-per-minute", "6000")
        + (("--register-webhook",) if webhook else ()),
        ("syncprovider", "Panel A"),
        ("publishservices", "Panel A", "--markup", "20"),
        (
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('carol'); "
            "User.objects.create_user('ops', is_staff=True)",
        ),
        ("adjustbalance", "carol", str(funds), "--reason", "test funds", "--operator", "ops"),
        ("createapikey", "carol"),
    )
    assert "services" in synced
    return added, key.strip()


def test_a_panel_is_another_panels_provider(transactional_db, live_server, shop, panel_b, panel_database):
    shops = [shop("smmcloud"), shop("smmcool")]
    reseller_b = User.objects.create_user("panel-b")
    balance_deposit(account=account_for(reseller_b), amount=Decimal("5000"))
    _, key_at_a = api_key_issue(user=reseller_b)

    # Panel B: set up from its own commands, A as its provider, then the whole panel running.
    _, key_at_b = set_up_as_reseller(panel_b, panel_database, live_server.url, key_at_a, funds=1000)
    panel_b.start()

    def b(action, **fields):
        answer = requests.post(
            f"{panel_b.url}/api/v2", data={"key": key_at_b, "action": action, **fields}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    # B sells what A sells, under B's own ids.
    catalogue = b("services")
    types_at_a = {
        entry["type"]
        for entry in requests.post(
            f"{live_server.url}/api/v2", data={"key": key_at_a, "action": "services"}, timeout=30
        ).json()
    }
    assert {entry["type"] for entry in catalogue} == types_at_a
    assert len(types_at_a) >= 8

    # Carol orders every type at B; B's worker places each at A, A sends it to its simulator.
    one_per_type = {}
    for entry in catalogue:
        one_per_type.setdefault(entry["type"], entry)
    placed = {}
    for n, (type_name, entry) in enumerate(sorted(one_per_type.items())):
        answer = b("add", service=entry["service"], **fields_for(entry, f"https://example.com/post/{n}"))
        assert set(answer) == {"order"}, (type_name, answer)
        placed[type_name] = answer["order"]
    # A second Default order of a refillable service, to be refilled, and one of a cancelable one.
    refillable = next(e for e in catalogue if e["type"] == "Default" and e["refill"])
    cancelable = next(e for e in catalogue if e["type"] == "Default" and e["cancel"])
    to_refill = b(
        "add", service=refillable["service"], **fields_for(refillable, "https://example.com/refill")
    )["order"]
    to_cancel = b(
        "add", service=cancelable["service"], **fields_for(cancelable, "https://example.com/cancel")
    )["order"]
    partial_one = placed["Default"]

    def wait_until(condition, what, *, advance=True, seconds=90):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            drive_panel_a(shops, advance=advance)
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}\n{panel_b.logs()}")

    all_b_orders = [*placed.values(), to_refill, to_cancel]
    wait_until(
        lambda: Order.objects.filter(user=reseller_b).count() == len(all_b_orders),
        "B to place every order at A",
        advance=False,
    )
    wait_until(
        lambda: not Order.objects.filter(user=reseller_b, status=Order.Status.QUEUED).exists(),
        "A to send them",
        advance=False,
    )
    assert not Order.objects.filter(user=reseller_b, status=Order.Status.NEEDS_REVIEW).exists()

    # Fates at the simulator: one partial; the cancel travels down B -> A -> simulator.
    by_link = {order.link: order for order in Order.objects.filter(user=reseller_b)}
    partial_at_a = by_link["https://example.com/post/" + str(sorted(one_per_type).index("Default"))]
    server = next(s for s, p in shops if p == partial_at_a.provider)
    server.sim.set_fate(partial_at_a.provider_order_id, "partial", remains=partial_at_a.units // 2)

    assert b("cancel", orders=str(to_cancel)) == [{"order": to_cancel, "cancel": 1}]
    cancel_at_a = by_link["https://example.com/cancel"]
    wait_until(
        lambda: Order.objects.get(pk=cancel_at_a.pk).cancel_requested_at is not None,
        "the cancel to reach A",
        advance=False,
    )

    finals = {"Completed", "Partial", "Canceled"}
    wait_until(
        lambda: all(
            v["status"] in finals for v in b("status", orders=",".join(map(str, all_b_orders))).values()
        ),
        "every order to end at B",
    )
    statuses = b("status", orders=",".join(map(str, all_b_orders)))
    assert statuses[str(partial_one)]["status"] == "Partial"
    assert statuses[str(to_cancel)]["status"] == "Canceled"
    assert statuses[str(to_refill)]["status"] == "Completed"

    # Money: what Carol paid at B after refunds is what B's status answers say; A refunded B the same way.
    spent_at_b = sum(Decimal(answer["charge"]) for answer in statuses.values())
    assert Decimal(b("balance")["balance"]) == Decimal(1000) - spent_at_b
    orders_at_a = Order.objects.filter(user=reseller_b)
    assert account_for(reseller_b).balance == Decimal(5000) - sum(o.charge - o.refunded for o in orders_at_a)
    partial_at_a.refresh_from_db()
    undelivered = partial_at_a.units // 2
    assert partial_at_a.refunded == to_money(partial_at_a.charge * undelivered / partial_at_a.units)
    cancel_at_a.refresh_from_db()
    assert cancel_at_a.status == Order.Status.CANCELED and cancel_at_a.refunded > 0

    # Refill through both panels.
    refill = b("refill", order=to_refill)
    assert set(refill) == {"refill"}
    wait_until(
        lambda: b("refill_status", refill=refill["refill"]).get("status") == "Completed",
        "the refill to complete at B",
    )

    # Nothing was placed twice anywhere: each of B's orders is one order at A and one at a simulator.
    assert orders_at_a.count() == len(all_b_orders)
    upstream = [order for server, _ in shops for order in server.sim.orders()]
    assert len(upstream) == orders_at_a.count()
    assert len({(o.provider_id, o.provider_order_id) for o in orders_at_a}) == orders_at_a.count()


def test_an_orders_completion_reaches_panel_b_by_webhook(
    transactional_db, live_server, shop, tmp_path, unused_tcp_port, panel_database
):
    """B registers its webhook at A (``addprovider --register-webhook``) and polls only once an hour: an
    order completed at A reaches B by A's signed webhook, long before B's next poll."""
    from webhooks.models import Delivery, Endpoint
    from webhooks.services import deliveries_send_due

    panel_b = RunningPanel(
        tmp_path,
        unused_tcp_port,
        STATUS_SYNC_SECONDS="3600",
        PANEL_URL=f"http://127.0.0.1:{unused_tcp_port}",
    )
    try:
        shops = [shop("smmcloud")]
        reseller_b = User.objects.create_user("panel-b")
        balance_deposit(account=account_for(reseller_b), amount=Decimal("500"))
        _, key_at_a = api_key_issue(user=reseller_b)

        registered, key_at_b = set_up_as_reseller(
            panel_b, panel_database, live_server.url, key_at_a, funds=100, webhook=True
        )
        assert "Webhook registered" in registered
        # A keeps B's URL for panel-b's orders, under a secret only B was told.
        assert Endpoint.objects.get(user=reseller_b).url == f"{panel_b.url}/webhooks/provider/1/"
        panel_b.start()

        def b(action, **fields):
            return requests.post(
                f"{panel_b.url}/api/v2", data={"key": key_at_b, "action": action, **fields}, timeout=30
            ).json()

        entry = next(e for e in b("services") if e["type"] == "Default")
        order_at_b = b("add", service=entry["service"], **fields_for(entry, "https://example.com/hooked"))[
            "order"
        ]

        def until(condition, what, *, seconds=60):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if condition():
                    return
                drive_panel_a(shops, advance=False)
                deliveries_send_due()  # A's webhook runs (its worker's, in this process)
                time.sleep(0.3)
            raise AssertionError(f"timed out waiting for {what}\n{panel_b.logs()}")

        until(
            lambda: Order.objects.filter(user=reseller_b).exclude(status=Order.Status.QUEUED).exists(),
            "A to send it",
        )
        order_at_a = Order.objects.get(user=reseller_b)
        shops[0][0].sim.advance()
        shops[0][0].sim.advance()
        orders_sync_statuses(provider=order_at_a.provider)
        order_at_a.refresh_from_db()
        assert order_at_a.status == Order.Status.COMPLETED

        # B learns it from the webhook: its own poll is an hour away.
        until(lambda: b("status", order=order_at_b)["status"] == "Completed", "B to hear of it")
        completed_event = Delivery.objects.filter(
            endpoint__user=reseller_b, payload__contains='"Completed"'
        ).get()
        assert (completed_event.status, completed_event.response_code) == ("delivered", 204)
        # And not from a poll: no status sync of B's looked at an order since it was placed.
        polls = panel_b.manage(
            "shell",
            "-c",
            "from panels.models import SyncRun; from orders.models import Order; "
            "placed = Order.objects.get().created_at; "
            "print(SyncRun.objects.filter(kind='status', started_at__gte=placed).count())",
        )
        assert polls.strip().splitlines()[-1] == "0"
    finally:
        panel_b.stop()
