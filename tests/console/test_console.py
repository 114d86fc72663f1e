"""The operator console: roles, the review queue and its actions, service publishing actions, customers,
and the dashboard's figures checked against a known data set."""

import html
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.utils import timezone

from api.models import ApiKey
from api.services import api_key_issue
from billing.models import Account
from billing.money import to_money
from billing.services import account_for, balance_deposit
from catalogue.models import CurrencyRate, CustomerPricing, CustomerServicePrice, MarkupRule, Service
from catalogue.publishing import services_publish
from console import selectors
from console.heartbeat import HEARTBEAT_KEY
from console.tasks import heartbeat
from orders.models import Order, Refill
from orders.services import order_place, order_submit
from panels.catalogue import catalogue_sync
from panels.models import ProviderCall, ProviderService, SyncRun
from panels.services import balance_sync
from tests.orders.support import data_for, service_of, settle

pytestmark = pytest.mark.django_db
S = Order.Status


def staff(client, name: str, group: str):
    user = User.objects.create_user(name, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


@pytest.fixture
def placed(shop, customer):
    """Orders of one customer on the smmcloud simulator's shop, made to order."""
    server, provider = shop("smmcloud")
    service = service_of(provider, "Default", cancel=True)

    def make(status=S.QUEUED, age=timedelta(0), **changes):
        order = order_place(
            user=customer,
            service=service,
            data=data_for(service, link=f"https://x.example/{Order.objects.count()}"),
        )
        Order.objects.filter(pk=order.pk).update(status=status, created_at=timezone.now() - age, **changes)
        order.refresh_from_db()
        return order

    make.server, make.provider, make.service = server, provider, service
    return make


# --- roles ----------------------------------------------------------------------------------------------


def test_support_sees_orders_and_customers_but_no_prices_providers_or_balances(client, placed):
    order = placed()
    staff(client, "sue", "Support")
    for path in [
        "/admin/orders/order/",
        "/admin/auth/user/",
        "/admin/orders/refill/",
        "/admin/console/review/",
    ]:
        assert client.get(path).status_code == 200, path
    for path in [
        "/admin/catalogue/service/",
        "/admin/catalogue/markuprule/",
        "/admin/panels/provider/",
        "/admin/billing/account/",
        "/admin/billing/topup/",
        "/admin/billing/ledgerentry/",
        "/admin/console/dashboard/",
    ]:
        assert client.get(path).status_code == 403, path
    assert "Balance" not in client.get("/admin/auth/user/").content.decode()
    customer_page = client.get(f"/admin/auth/user/{order.user_id}/change/")
    assert customer_page.status_code == 200 and "password/" not in customer_page.content.decode()
    service = placed.service
    response = client.post(
        "/admin/catalogue/service/",
        {
            "action": "reprice",
            "_selected_action": [service.pk],
            "confirmed": "1",
            "percent": "1",
            "fixed": "0",
            "rounding": "0.01",
        },
    )
    assert response.status_code == 403
    assert Service.objects.get(pk=service.pk).price == service.price


def test_owner_runs_everything(client, placed):
    staff(client, "olive", "Owner")
    for path in [
        "/admin/catalogue/service/",
        "/admin/panels/provider/",
        "/admin/billing/account/",
        "/admin/console/dashboard/",
        "/admin/console/review/",
    ]:
        assert client.get(path).status_code == 200, path


# --- the review queue -----------------------------------------------------------------------------------


def test_review_queue_lists_unknown_and_stuck_orders_with_what_to_check(client, placed):
    unknown = placed(S.NEEDS_REVIEW, wait_reason="Timed out")
    queued = placed(S.QUEUED, age=timedelta(minutes=30))
    waiting = placed(S.WAITING, age=timedelta(hours=2), wait_reason="The provider is out of funds.")
    sending = placed(S.SENDING, sending_since=timezone.now() - timedelta(hours=1))
    cancel = placed(
        S.IN_PROGRESS, provider_order_id="77", cancel_requested_at=timezone.now() - timedelta(hours=3)
    )
    placed(S.QUEUED)  # fresh: not stuck
    placed(S.COMPLETED, age=timedelta(days=1))

    entries = {entry.order.pk: entry for entry in selectors.review_queue()}
    assert set(entries) == {unknown.pk, queued.pk, waiting.pk, sending.pk, cancel.pk}
    assert entries[unknown.pk].reason == "unknown" and "attach its order id" in entries[unknown.pk].check
    assert entries[waiting.pk].check.endswith("The provider is out of funds.")
    assert entries[cancel.pk].reason == "cancel"

    staff(client, "sue", "Support")
    page = client.get("/admin/console/review/").content.decode()
    assert "Needs review (5)" in page and f"/admin/orders/order/{unknown.pk}/attach/" in page
    assert "5</strong> waiting for an operator" in client.get("/admin/").content.decode()


def test_queue_actions_resolve_orders(client, placed):
    unknown = placed(S.NEEDS_REVIEW)
    waiting = placed(S.WAITING, age=timedelta(hours=2))
    staff(client, "sue", "Support")

    # Marking needs a note form first, then takes the order off the queue; an unknown outcome cannot be waved off.
    form = client.post("/admin/orders/order/", {"action": "mark_resolved", "_selected_action": [waiting.pk]})
    assert b"What you checked" in form.content
    client.post(
        "/admin/orders/order/",
        {
            "action": "mark_resolved",
            "_selected_action": [waiting.pk, unknown.pk],
            "confirmed": "1",
            "note": "Topped up the provider",
        },
    )
    assert {entry.order.pk for entry in selectors.review_queue()} == {unknown.pk}
    assert "Topped up the provider" in Order.objects.get(pk=waiting.pk).events.last().message
    assert Order.objects.get(pk=unknown.pk).review_resolved_at is None

    balance = account_for(unknown.user).balance
    client.post(
        "/admin/orders/order/",
        {"action": "refund", "_selected_action": [unknown.pk], "confirmed": "1", "checked": "on"},
    )
    assert Order.objects.get(pk=unknown.pk).status == S.FAILED
    assert account_for(unknown.user).balance == balance + unknown.charge
    assert selectors.review_queue() == []


@pytest.fixture
def lost_refill(placed):
    """A refill the provider accepted whose answer was lost (HTTP 500 after processing): outcome unknown."""
    from orders.refills import refill_request, refill_send

    order = placed()
    order_submit(order_id=order.pk)
    order = settle(placed.server, placed.provider, order)
    assert order.status == S.COMPLETED
    refill = refill_request(order=order)
    placed.server.sim.set_fault("http_500", action="refill", times=1)
    refill_send(refill_id=refill.pk)
    refill.refresh_from_db()
    assert refill.status == Refill.Status.NEEDS_REVIEW
    return refill


def test_refills_of_unknown_outcome_are_in_the_queue_and_attached(client, placed, lost_refill):
    from orders.refills import refills_sync_statuses

    staff(client, "sue", "Support")  # resolving reviews is support's work
    page = client.get("/admin/console/review/").content.decode()
    assert "Needs review (1)" in page and 'id="review-refills"' in page
    # Support works the queue without learning the provider's ids (the Owner's page quotes them).
    assert "look in the provider&#x27;s refills for its order #…" in page
    assert lost_refill.order.provider_order_id not in page
    assert "1</strong> waiting for an operator" in client.get("/admin/").content.decode()

    attach = {"action": "attach", "_selected_action": [lost_refill.pk]}
    asked = client.post("/admin/orders/refill/", attach).content.decode()
    assert "The provider&#x27;s refill id" in asked
    (upstream,) = placed.server.sim.refills()  # what the operator finds in the provider's panel
    client.post(
        "/admin/orders/refill/", {**attach, "confirmed": "1", "provider_refill_id": f" {upstream.id} "}
    )
    lost_refill.refresh_from_db()
    assert lost_refill.status == Refill.Status.PENDING and lost_refill.provider_refill_id == upstream.id
    assert "Nothing needs an operator" in client.get("/admin/console/review/").content.decode()
    event = lost_refill.order.events.latest("pk")
    assert event.actor.username == "sue" and f"refill #{upstream.id} attached" in event.message

    placed.server.sim.advance(3)
    assert refills_sync_statuses(provider=placed.provider) == 1  # followed at the provider from now on
    lost_refill.refresh_from_db()
    assert lost_refill.status == Refill.Status.COMPLETED
    assert len(placed.server.sim.refills()) == 1  # never asked twice

    again = {**attach, "confirmed": "1", "provider_refill_id": "9"}
    page = client.post("/admin/orders/refill/", again, follow=True).content.decode()
    assert f"Refill #{lost_refill.pk}: Completed, not in review." in page
    lost_refill.refresh_from_db()
    assert lost_refill.provider_refill_id == upstream.id


def test_a_refill_the_provider_never_got_is_closed_and_can_be_asked_again(client, placed, lost_refill):
    from orders.refills import refill_request

    staff(client, "sue", "Support")
    close = {"action": "close", "_selected_action": [lost_refill.pk]}
    unconfirmed = client.post("/admin/orders/refill/", {**close, "confirmed": "1"}).content.decode()
    assert "This field is required" in unconfirmed
    client.post("/admin/orders/refill/", {**close, "confirmed": "1", "checked": "on", "note": "not there"})
    lost_refill.refresh_from_db()
    assert lost_refill.status == Refill.Status.REJECTED and lost_refill.public_status == "Rejected"
    assert "the provider has no such refill. not there" in lost_refill.message
    assert refill_request(order=lost_refill.order).status == Refill.Status.REQUESTED


def test_a_resolved_order_returns_when_it_gets_stuck_again(placed):
    from orders.services import order_mark_resolved, order_transition

    order = placed(S.QUEUED, age=timedelta(hours=1))
    order_mark_resolved(order=order, actor=None)
    assert selectors.review_queue() == []
    order_transition(order=order, to=S.WAITING, message="out of funds again")
    assert [entry.order.pk for entry in selectors.review_queue()] == [order.pk]


# --- publishing -----------------------------------------------------------------------------------------


def test_reprice_and_move_services_in_the_admin(client, placed, shop):
    staff(client, "olive", "Owner")
    service = placed.service
    upstream = service.provider_service
    client.post(
        "/admin/catalogue/service/",
        {
            "action": "reprice",
            "_selected_action": [service.pk],
            "confirmed": "1",
            "percent": "100",
            "fixed": "0",
            "rounding": "0.0001",
        },
    )
    service.refresh_from_db()
    assert service.price == (upstream.rate * 2).quantize(Decimal("0.0001"))
    assert MarkupRule.objects.get(provider_service=upstream).percent == 100

    _, other_provider = shop("smmcool")
    target = ProviderService.objects.filter(provider=other_provider, type="Default", active=True).first()
    two = Service.objects.exclude(pk=service.pk).first()
    refused = client.post(
        "/admin/catalogue/service/", {"action": "move", "_selected_action": [service.pk, two.pk]}, follow=True
    ).content.decode()
    assert "Choose exactly one service to move." in refused and 'name="provider_service"' not in refused
    page = client.post(
        "/admin/catalogue/service/", {"action": "move", "_selected_action": [service.pk]}
    ).content.decode()
    assert f"Sell {service} from another provider service" in page and f'value="{target.pk}"' in page
    client.post(
        "/admin/catalogue/service/",
        {"action": "move", "_selected_action": [service.pk], "confirmed": "1", "provider_service": target.pk},
    )
    service.refresh_from_db()
    assert service.provider_service == target
    assert target.min_quantity <= service.min_quantity <= service.max_quantity <= target.max_quantity


def test_service_pause_and_resume(client, placed):
    staff(client, "olive", "Owner")
    service = placed.service
    client.post("/admin/catalogue/service/", {"action": "take_off_sale", "_selected_action": [service.pk]})
    assert Service.objects.get(pk=service.pk).status == Service.Status.DISABLED
    client.post("/admin/catalogue/service/", {"action": "put_back_on_sale", "_selected_action": [service.pk]})
    assert Service.objects.get(pk=service.pk).status == Service.Status.ACTIVE


# --- customers ------------------------------------------------------------------------------------------


def test_disabling_a_customer_stops_logins_and_api_keys(client, customer):
    _, key = api_key_issue(user=customer)
    staff(client, "olive", "Owner")
    client.post("/admin/auth/user/", {"action": "disable", "_selected_action": [customer.pk]})
    customer.refresh_from_db()
    assert not customer.is_active
    assert not ApiKey.objects.filter(user=customer, revoked_at__isnull=True).exists()
    assert client.post("/api/v2", {"key": key, "action": "balance"}).json() == {"error": "Invalid API key"}
    client.post("/admin/auth/user/", {"action": "enable", "_selected_action": [customer.pk]})
    assert User.objects.get(pk=customer.pk).is_active


# --- the dashboard --------------------------------------------------------------------------------------


def test_dashboard_figures_match_a_known_data_set(client, placed):
    cache.delete(HEARTBEAT_KEY)
    CurrencyRate.objects.update_or_create(currency="EUR", defaults={"rate": Decimal("1.10")})
    now = timezone.now()
    day = timedelta(days=1)
    placed(
        S.COMPLETED,
        age=2 * day,
        charge=Decimal("10"),
        cost=Decimal("4"),
        cost_currency="USD",
        sent_at=now - 2 * day,
        finished_at=now - 2 * day + timedelta(hours=2),
    )
    placed(
        S.PARTIAL,
        age=2 * day,
        charge=Decimal("6"),
        refunded=Decimal("1.5"),
        cost=Decimal("2"),
        cost_currency="EUR",
        sent_at=now - 2 * day,
        finished_at=now - day,
    )
    placed(
        S.CANCELED,
        age=day,
        charge=Decimal("3"),
        refunded=Decimal("3"),
        cost=Decimal("0"),
        cost_currency="USD",
    )
    placed(S.FAILED, age=day, charge=Decimal("5"), refunded=Decimal("5"))  # never counted as revenue
    placed(
        S.COMPLETED, age=40 * day, charge=Decimal("100"), cost=Decimal("1"), cost_currency="USD"
    )  # too old
    placed(S.IN_PROGRESS, charge=Decimal("2"), cost=Decimal("1"), cost_currency="GBP")  # no rate: flagged

    days, unpriced = selectors.money_by_day(days=30)
    assert len(days) == 30 and unpriced == ["GBP"]
    by_day = {entry.day: entry for entry in days}
    two_days_ago = by_day[(now - 2 * day).date()]
    assert two_days_ago.revenue == Decimal("14.5") and two_days_ago.cost == Decimal("6.2")
    assert by_day[(now - day).date()].revenue == 0
    assert sum(entry.revenue for entry in days) == Decimal("16.5")
    assert sum(entry.profit for entry in days) == Decimal("16.5") - Decimal("6.2")

    statuses = dict(selectors.orders_by_status())
    assert statuses["Completed"] == 2 and statuses["Partial"] == 1 and statuses["Failed (refunded)"] == 1

    assert selectors.top_services()[0]["revenue"] == Decimal("16.5")

    totals = selectors.balances()
    assert totals.customers == sum(account.balance for account in Account.objects.all())

    # Calls of the last 24 h: 3 answered, 1 refused, 1 of unknown outcome; an older failure is not counted.
    ProviderCall.objects.all().delete()
    Outcome = ProviderCall.Outcome
    for outcome, age in [
        (Outcome.OK, timedelta(hours=1)),
        (Outcome.OK, timedelta(hours=2)),
        (Outcome.OK, timedelta(hours=23)),
        (Outcome.REJECTED, timedelta(hours=3)),
        (Outcome.UNKNOWN, timedelta(hours=4)),
        (Outcome.UNAVAILABLE, timedelta(hours=25)),
    ]:
        ProviderCall.objects.create(
            provider=placed.provider, action="status", duration_ms=5, outcome=outcome, created_at=now - age
        )
    (health,) = selectors.provider_health()
    assert health.recent_calls == 5 and health.error_rate == Decimal(40)
    assert health.finished == 3 and health.partials == 1 and health.cancels == 1
    assert health.partial_share.quantize(Decimal("0.1")) == Decimal("33.3")
    assert health.cancel_share.quantize(Decimal("0.1")) == Decimal("33.3")
    assert health.completion == timedelta(hours=2)

    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    assert '<strong id="revenue">16.5' in page and "No exchange rate for GBP" in page
    assert "never seen" in page  # no heartbeat yet
    provider_row = page.split('id="provider-health"')[1].split("</table>")[0]
    assert ">40.0%</span> of 5" in provider_row and "<td>33.3%</td>" in provider_row
    assert "<td>2 h 0 min</td>" in provider_row


def test_dashboard_periods(client, placed):
    day = timedelta(days=1)
    placed(S.COMPLETED, age=3 * day, charge=Decimal("1"))
    placed(S.COMPLETED, age=10 * day, charge=Decimal("2"))
    placed(S.COMPLETED, age=60 * day, charge=Decimal("4"))
    placed(S.COMPLETED, age=100 * day, charge=Decimal("8"))
    staff(client, "olive", "Owner")
    for asked, period, revenue in [
        ("7", 7, "1"),
        ("30", 30, "3"),
        ("90", 90, "7"),
        ("365", 30, "3"),  # not offered: the default
        ("x", 30, "3"),
    ]:
        response = client.get("/admin/console/dashboard/", {"days": asked})
        page = response.content.decode()
        assert response.context["period"] == period and f"Revenue, {period} days" in page
        assert f'<strong id="revenue">{revenue}' in page, asked
        assert page.count('fill="#417690"><title>') == period
        assert response.context["top_services"][0]["revenue"] == Decimal(revenue)
    assert "<strong>30 days</strong>" in page and '<a href="?days=90">90 days</a>' in page


def test_chart_goes_below_zero_on_a_day_at_a_loss():
    from console.charts import HEIGHT, PAD, money_chart

    today = timezone.now().date()
    days = [
        selectors.Day(today - timedelta(days=1), revenue=Decimal("10"), cost=Decimal("4")),
        selectors.Day(today, revenue=Decimal("2"), cost=Decimal("7")),  # a loss of 5
    ]
    chart = money_chart(days)
    assert chart["top"] == 10 and chart["bottom"] == -5
    # 10 at the top, -5 at the bottom: zero a third of the way up.
    assert chart["axis_y"] == PAD + (HEIGHT - 2 * PAD) * 2 / 3
    (_, gain), (_, loss) = (point.split(",") for point in chart["profit_points"].split())
    assert float(gain) < chart["axis_y"] < float(loss) == HEIGHT - PAD
    assert chart["bars"][1]["cost_h"] == round(chart["axis_y"] - chart["bars"][1]["cost_y"], 1) > 0


def test_heartbeat_and_status_sync_runs_show_on_the_dashboard(client, placed, settings):
    from orders.tasks import sync_order_statuses

    cache.delete(HEARTBEAT_KEY)
    heartbeat()
    placed(S.PENDING, provider_order_id="10001", sent_at=timezone.now())
    sync_order_statuses(placed.provider.pk)
    run = SyncRun.objects.get(kind=SyncRun.Kind.STATUS)
    assert run.ok and "1 orders checked in 1 calls" in run.summary
    (health,) = selectors.provider_health()
    assert health.last_ok_status_sync == run.finished_at
    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    assert (
        'id="heartbeat">Worker and scheduler heartbeat:\n  <span class="ok">' in page
        and "never seen" not in page
    )


def test_customer_and_provider_balances(placed):
    provider = placed.provider
    totals = selectors.balances()
    assert totals.providers == [(provider, provider.balance)]
    extra = User.objects.create_user("rich")
    balance_deposit(account=account_for(extra), amount=Decimal("1000"))
    assert selectors.balances().customers == totals.customers + 1000


# --- the admin's model pages ------------------------------------------------------------------------------


def test_order_list_filters_the_review_queue(client, placed):
    unknown = placed(S.NEEDS_REVIEW)
    waiting = placed(S.WAITING, age=timedelta(hours=2))
    placed(S.WAITING)  # not for long: not in the queue
    placed(S.COMPLETED, age=timedelta(days=1))
    staff(client, "sue", "Support")
    response = client.get("/admin/orders/order/", {"needs_review": "yes"})
    assert {order.pk for order in response.context["cl"].result_list} == {unknown.pk, waiting.pk}
    assert "In the review queue" in response.content.decode()


def test_order_events_are_searchable_and_read_only(client, placed):
    order = placed(S.NEEDS_REVIEW)
    staff(client, "sue", "Support")
    response = client.get("/admin/orders/orderevent/", {"q": str(order.pk)})
    events = list(response.context["cl"].result_list)
    assert events and {event.order_id for event in events} == {order.pk}
    event = events[0]
    page = client.get(f"/admin/orders/orderevent/{event.pk}/change/").content.decode()
    # The operator's line may name the provider: Support reads the customer's.
    assert 'name="message"' not in page and event.public_message in page and event.message not in page
    assert client.post(f"/admin/orders/orderevent/{event.pk}/delete/").status_code == 403


def test_provider_list_shows_each_kind_of_sync(client, placed):
    provider = placed.provider  # its balance and catalogue were synced by the shop fixture
    now = timezone.now()
    SyncRun.objects.create(
        provider=provider,
        kind=SyncRun.Kind.STATUS,
        started_at=now,
        finished_at=now,
        ok=False,
        error="Provider answered HTML",
    )
    staff(client, "olive", "Owner")
    page = client.get("/admin/panels/provider/").content.decode()
    assert "Catalogue: now ✓" in page and "Balance: now ✓" in page
    assert 'Order statuses: now <span class="bad" title="Provider answered HTML">failed' in page


def test_order_statuses_synced_now_from_the_provider_list(client, placed, eager_celery, monkeypatch):
    from orders.tasks import sync_order_statuses

    order = placed()
    order_submit(order_id=order.pk)
    placed.server.sim.advance()  # the provider moves the order on; we learn it at the next sync
    staff(client, "olive", "Owner")
    sync_now = {"action": "sync_statuses", "_selected_action": [placed.provider.pk]}
    page = client.post("/admin/panels/provider/", sync_now, follow=True).content.decode()
    assert "Smmcloud: status sync queued" in page
    run = SyncRun.objects.get(provider=placed.provider, kind=SyncRun.Kind.STATUS)
    assert run.ok and "1 orders checked in 1 calls, 1 moved" in run.summary
    assert Order.objects.get(pk=order.pk).status == S.IN_PROGRESS

    def broker_down(*args):
        raise OSError("Error connecting to redis://:hunter2@broker:6379")

    monkeypatch.setattr(sync_order_statuses, "delay", broker_down)
    page = client.post("/admin/panels/provider/", sync_now, follow=True).content.decode()
    assert "could not queue the sync: the task broker is not answering" in page and "hunter2" not in page

    placed.provider.enabled = False
    placed.provider.save()
    page = client.post("/admin/panels/provider/", sync_now, follow=True).content.decode()
    assert "Smmcloud: disabled, not synced." in page
    assert SyncRun.objects.filter(kind=SyncRun.Kind.STATUS).count() == 1


def test_new_provider_services_marked_reviewed(client, placed):
    fresh = ProviderService.objects.filter(provider=placed.provider, is_new=True)
    chosen = list(fresh.values_list("pk", flat=True)[:3])
    assert len(chosen) == 3
    staff(client, "olive", "Owner")
    client.post("/admin/panels/providerservice/", {"action": "mark_reviewed", "_selected_action": chosen})
    assert not ProviderService.objects.filter(pk__in=chosen, is_new=True).exists()
    assert fresh.exists()  # the others stay flagged


def test_discounts_and_custom_prices_set_in_the_admin(client, placed, customer):
    from catalogue.pricing import customer_price

    service = placed.service
    staff(client, "olive", "Owner")
    response = client.post(
        "/admin/catalogue/customerpricing/add/", {"user": customer.pk, "discount_percent": "10"}
    )
    assert response.status_code == 302
    assert customer_price(user=customer, service=service) == to_money(service.price * Decimal("0.9"))
    refused = client.post(
        "/admin/catalogue/customerpricing/add/", {"user": customer.pk, "discount_percent": "150"}
    )
    assert b"less than or equal to 100" in refused.content

    custom = {"user": customer.pk, "service": service.pk, "price": "0.5"}
    refused = client.post("/admin/catalogue/customerserviceprice/add/", custom)
    assert (  # the provider's rate is 0.90
        f"Under the current cost: {service} (dave's custom price) at 0.5: margin -0.4000 (-80.0%), cost 0.9000."
        in html.unescape(refused.content.decode())
    )
    assert customer_price(user=customer, service=service) == to_money(service.price * Decimal("0.9"))
    client.post("/admin/catalogue/customerserviceprice/add/", {**custom, "allow_loss": "on"})
    assert customer_price(user=customer, service=service) == Decimal("0.5")
    order = order_place(user=customer, service=service, data=data_for(service))
    assert order.charge == to_money(Decimal("0.5") * order.units / 1000)


def test_late_syncs_are_flagged_on_the_dashboard(client, placed, settings):
    settings.STATUS_SYNC_SECONDS, settings.BALANCE_SYNC_MINUTES = 60, 5
    provider = placed.provider  # catalogue and balance synced just now by the shop fixture
    now = timezone.now()

    def ran(kind, ago, ok=True):
        when = now - ago
        SyncRun.objects.create(provider=provider, kind=kind, started_at=when, finished_at=when, ok=ok)

    ran(SyncRun.Kind.STATUS, timedelta(minutes=10))
    ran(SyncRun.Kind.STATUS, timedelta(minutes=1), ok=False)  # failing since: late after 3 intervals
    SyncRun.objects.filter(kind=SyncRun.Kind.BALANCE).update(finished_at=now - timedelta(minutes=14))

    (health,) = selectors.provider_health(now=now)
    late = {sync.kind: sync.late for sync in health.syncs}
    assert late == {"status": True, "catalogue": False, "balance": False}
    later = selectors.provider_health(now=now + timedelta(minutes=2))[0]
    assert {sync.kind: sync.late for sync in later.syncs}["balance"]  # 16 minutes: over 3 intervals

    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    assert f"{provider.name}: the status sync has not worked since 10" in page
    assert '<td class="sync-status">10\xa0minutes ago <span class="bad">late</span></td>' in page
    assert '<td class="sync-balance">14\xa0minutes ago</td>' in page
    assert "the catalogue sync has not worked" not in page

    # A provider added a moment ago is not late for a sync that never ran yet; minutes later it is.
    SyncRun.objects.filter(kind=SyncRun.Kind.STATUS).delete()
    status = {sync.kind: sync for sync in selectors.provider_health(now=now)[0].syncs}["status"]
    assert status.last_ok is None and not status.late
    later = selectors.provider_health(now=now + timedelta(minutes=4))[0]
    assert {sync.kind: sync.late for sync in later.syncs}["status"]

    provider.enabled = False
    provider.save()
    assert not any(sync.late for sync in selectors.provider_health(now=now)[0].syncs)


def test_prices_under_cost_after_a_cost_rise_are_flagged_on_the_dashboard(client, placed, customer):
    followers = placed.service  # the provider's rate 0.90, sold at 1.35 (+50%)
    likes = Service.objects.get(provider_service__provider=placed.provider, provider_service__remote_id="2")
    Service.objects.filter(pk=followers.pk).update(manual_price=True)
    CustomerServicePrice.objects.create(user=customer, service=followers, price=Decimal("1.50"))
    erin = User.objects.create_user("erin")
    CustomerPricing.objects.create(user=erin, discount_percent=Decimal(10))
    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    assert '<strong id="under-cost-count">0</strong>' in page and "Prices under cost" not in page

    placed.server.sim.set_service(1, rate="2.00")
    placed.server.sim.set_service(2, rate="0.50")
    catalogue_sync(provider=placed.provider)
    followers.refresh_from_db()
    likes.refresh_from_db()
    assert (followers.price, likes.price) == (
        Decimal("1.35"),
        Decimal("0.75"),
    )  # by hand: kept; by rule: follows

    response = client.get("/admin/console/dashboard/")
    page = html.unescape(response.content.decode())
    assert '<strong id="under-cost-count" class="bad"><a href="#under-cost">1</a></strong>' in page
    assert [
        (p.service, p.whose, p.margin.price, p.margin.amount) for p in response.context["under_cost"].prices
    ] == [
        (followers, "erin's 10% discount", Decimal("1.2150"), Decimal("-0.7850")),
        (followers, "", Decimal("1.35"), Decimal("-0.65")),
        (followers, "dave's custom price", Decimal("1.50"), Decimal("-0.50")),
    ]
    assert "3 prices of 1 service are under the current cost" in page
    assert f'<a href="/admin/catalogue/service/{followers.pk}/change/">the service</a>' in page
    for who in (erin, customer):
        assert f'<a href="/admin/auth/user/{who.pk}/change/">the customer\'s page</a>' in page


def test_the_dashboard_says_which_costs_are_unknown(client, make_provider, make_simulator):
    provider = make_provider(make_simulator("smmcool", provider_currency="EUR"))
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    rate = CurrencyRate.objects.create(currency="EUR", rate=Decimal("1.10"))
    services_publish(provider=provider, percent=Decimal(20))
    rate.delete()  # not guessed: said
    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    assert "Cost unknown for 6 services: No exchange rate for EUR: add one under Currency rates." in page
    assert '<strong id="under-cost-count">0</strong>' in page


def test_dashboard_and_queue_queries_do_not_grow_with_the_business(client, placed, shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff(client, "olive", "Owner")
    placed(S.COMPLETED, age=timedelta(days=1))
    placed(S.NEEDS_REVIEW)

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    before = {path: queries(path) for path in ["/admin/console/dashboard/", "/admin/console/review/"]}
    shop("smmcool")
    for n in range(3):  # prices under cost to list: custom prices and discounts of several customers
        buyer = User.objects.create_user(f"buyer{n}")
        CustomerPricing.objects.create(user=buyer, discount_percent=Decimal(60))
        CustomerServicePrice.objects.create(user=buyer, service=placed.service, price=Decimal("0.01"))
    for n in range(5):
        placed(S.PARTIAL, age=timedelta(days=n), refunded=Decimal("0.01"))
        placed(S.NEEDS_REVIEW)
    after = {path: queries(path) for path in before}
    assert after == before


def test_a_customers_page_holds_their_discount_and_custom_prices(client, placed, customer):
    from catalogue.pricing import customer_price

    service = placed.service
    staff(client, "olive", "Owner")
    url = f"/admin/auth/user/{customer.pk}/change/"
    assert "custom prices (per 1000, or per package)" in client.get(url).content.decode().lower()
    inlines = {  # each inline's management form, as the page sends it
        prefix: {f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0"}
        for prefix in ["profile", "pricing", "custom_prices"]
    }
    form = {
        "username": customer.username,
        "email": "dave@example.com",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        **inlines["profile"],  # the fixture's customer has no profile yet: the page adds one
        "profile-0-user": str(customer.pk),
        "profile-0-timezone": "UTC",
        **inlines["pricing"],
        "pricing-0-user": str(customer.pk),
        "pricing-0-discount_percent": "20",
        **inlines["custom_prices"],
        "custom_prices-0-user": str(customer.pk),
        "custom_prices-0-service": str(service.pk),
        "custom_prices-0-price": "0.25",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    said = "(dave's custom price) at 0.25: margin -0.6500 (-260.0%), cost 0.9000"
    assert said in html.unescape(refused.content.decode())
    assert customer_price(user=customer, service=service) == service.price  # nothing saved, nor the discount
    response = client.post(url, {**form, "custom_prices-0-allow_loss": "on"})
    assert response.status_code == 302, response.context and [
        response.context["adminform"].form.errors,
        [formset.formset.errors for formset in response.context["inline_admin_formsets"]],
    ]
    assert customer_price(user=customer, service=service) == Decimal("0.25")
    other = Service.objects.exclude(pk=service.pk).filter(status=Service.Status.ACTIVE).first()
    assert customer_price(user=customer, service=other) == to_money(other.price * Decimal("0.8"))
    page = html.unescape(client.get(url).content.decode())
    assert "-0.6500 (-260.0%) under cost" in page  # beside the custom price
    likes = Service.objects.get(provider_service__remote_id="2", provider_service__provider=placed.provider)
    assert (
        f"#{likes.pk} Instagram Likes [No Refill] at 0.1440: +0.0240 (16.7%)" in page
    )  # 0.18 less 20%; cost 0.12

    staff(client, "sue", "Support")
    page = client.get(url).content.decode().lower()
    assert "custom prices" not in page and "discount" not in page


def test_a_long_queue_shows_the_oldest_and_leads_to_the_rest(client, placed, monkeypatch):
    monkeypatch.setattr("console.views.REVIEW_PAGE_SIZE", 2)
    oldest = [placed(S.NEEDS_REVIEW, age=timedelta(hours=5 - n)) for n in range(4)]
    # One open refill per order, the unknown outcome included.
    refills = [Refill.objects.create(order=order, status=Refill.Status.NEEDS_REVIEW) for order in oldest[:3]]
    staff(client, "sue", "Support")
    response = client.get("/admin/console/review/")
    assert [entry.order for entry in response.context["entries"]] == oldest[:2]
    assert [entry.refill for entry in response.context["refills"]] == refills[:2]
    page = response.content.decode()
    assert "Needs review (7)" in page and "The 2 oldest of 4 orders are shown here" in page
    assert "/admin/orders/order/?needs_review=yes" in page
    assert (
        "The 2 oldest of 3 are shown here" in page
        and "/admin/orders/refill/?status__exact=needs_review" in page
    )


@pytest.mark.parametrize(
    ("span", "shown"),
    [
        (None, "—"),
        (timedelta(seconds=59), "under a minute"),
        (timedelta(minutes=4, seconds=59), "4 min"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(days=1, hours=3, minutes=59), "1 d 3 h"),
    ],
)
def test_durations_as_an_operator_reads_them(span, shown):
    from console.templatetags.console import duration

    assert duration(span) == shown
