"""The operator's dashboard: its figures checked against a known data set, periods, chart, provider health and
late syncs, prices under cost, and queries that do not grow with the business."""

import html
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from billing.models import Account
from billing.services import account_for, balance_deposit
from catalogue.models import CurrencyRate, CustomerPricing, CustomerServicePrice, Service
from catalogue.publishing import services_publish
from console import selectors
from console.heartbeat import PERIODIC, SENDING, heartbeat_key
from console.tasks import heartbeat, heartbeat_sending
from orders.models import Order
from panels.catalogue import catalogue_sync
from panels.models import ProviderCall, SyncRun
from panels.services import balance_sync
from tests.staff import staff

pytestmark = pytest.mark.django_db
S = Order.Status


def test_dashboard_figures_match_a_known_data_set(client, placed):
    cache.delete_many([heartbeat_key(PERIODIC), heartbeat_key(SENDING)])
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


def test_heartbeat_and_status_sync_runs_show_on_the_dashboard(client, placed, published, settings):
    from orders.tasks import sync_order_statuses

    cache.delete_many([heartbeat_key(PERIODIC), heartbeat_key(SENDING)])
    staff(client, "olive", "Owner")
    heartbeat()  # the periodic side, which queues the sending side's beat; no worker of that queue runs it
    page = client.get("/admin/console/dashboard/").content.decode()
    assert "no order is being sent" in page and "nothing is being synced" not in page
    [(task, queue, _)] = published
    assert (task, queue) == (heartbeat_sending.name, settings.CELERY_TASK_DEFAULT_QUEUE)

    heartbeat_sending()  # a worker of the sending queue takes it
    placed(S.PENDING, provider_order_id="10001", sent_at=timezone.now())
    sync_order_statuses(placed.provider.pk)
    run = SyncRun.objects.get(kind=SyncRun.Kind.STATUS)
    assert run.ok and "1 orders checked in 1 calls" in run.summary
    (health,) = selectors.provider_health()
    assert health.last_ok_status_sync == run.finished_at
    page = client.get("/admin/console/dashboard/").content.decode()
    for side in ("periodic", "sending"):
        shown = page.split(f'<span id="heartbeat-{side}">')[1].split("</span>\n")[0]
        assert '<span class="ok">' in shown and "bad" not in shown
    assert "never seen" not in page


def test_customer_and_provider_balances(placed):
    provider = placed.provider
    totals = selectors.balances()
    assert totals.providers == [(provider, provider.balance)]
    extra = User.objects.create_user("rich")
    balance_deposit(account=account_for(extra), amount=Decimal("1000"))
    assert selectors.balances().customers == totals.customers + 1000


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

    client.get("/admin/console/dashboard/")  # the branding read once and cached (content.branding)
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


def test_the_dashboard_shows_routes_shares_and_each_providers_state(client, placed, shop):
    """Issue 17: orders each route accepted in the last 24 h, and which providers routing skips."""
    from catalogue.models import ServiceRoute
    from panels.health import provider_mark_down
    from panels.models import Provider, ProviderService

    _, cool = shop("smmcool")
    other = ProviderService.objects.filter(provider=cool, type="Default").first()
    ServiceRoute.objects.create(service=placed.service, provider_service=other, position=1)
    now = timezone.now()
    for _ in range(3):
        placed(S.PENDING, sent_at=now - timedelta(hours=1))
    placed(S.PENDING, sent_at=now - timedelta(hours=2), provider=cool, provider_service=other)
    placed(S.COMPLETED, age=timedelta(days=2), sent_at=now - timedelta(days=2))  # before the window
    Provider.objects.filter(pk=cool.pk).update(
        down_until=now + timedelta(minutes=5), down_reason="6 of 8 calls failed"
    )
    staff(client, "olive", "Owner")
    provider_mark_down(provider=placed.provider, actor=None, reason="")

    page = html.unescape(client.get("/admin/console/dashboard/").content.decode())

    shares = page.split('id="route-shares"')[1].split("</table>")[0]
    assert f"#{placed.service.pk} " in shares and "In the routes' order" in shares
    assert "<td>3</td><td>75%</td>" in shares and "<td>1</td><td>25%</td>" in shares
    providers = page.split('id="provider-health"')[1].split("</table>")[0]
    assert "down by hand" in providers
    assert "down until " in providers and 'title="6 of 8 calls failed"' in providers


def test_the_queue_is_counted_up_to_a_bound(client, placed, monkeypatch):
    """Issue 13: the dashboard and the front page count the review queue up to ``REVIEW_COUNT_SHOWN``; an
    exact count read every order in a queue of tens of thousands."""
    monkeypatch.setattr(selectors, "REVIEW_COUNT_SHOWN", 2)
    staff(client, "olive", "Owner")
    for _ in range(2):
        placed(S.NEEDS_REVIEW)
    assert ">2</a>" in client.get("/admin/console/dashboard/").content.decode()
    placed(S.NEEDS_REVIEW)
    assert selectors.review_queue_count() == 3
    assert ">2+</a>" in client.get("/admin/console/dashboard/").content.decode()
    assert ">2+</strong> waiting for an operator" in client.get("/admin/").content.decode()
