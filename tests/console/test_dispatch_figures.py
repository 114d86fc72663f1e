"""The dashboard's "Sending orders" (issue 18): per provider the backlog and how much is due, the send rate, the
budget and what limits sending — driven for real through the dispatcher against the simulator."""

from decimal import Decimal

import pytest
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from console import selectors
from orders.dispatch import LimitedBy, dispatch_state_record, orders_dispatch
from orders.models import Order
from orders.tasks import dispatch_orders
from panels.models import ProviderCall
from tests.orders.support import orders_placed
from tests.staff import staff

pytestmark = pytest.mark.django_db
S = Order.Status


def sending_row(page: str, provider) -> str:
    return page.split(f'<tr id="sending-{provider.pk}">')[1].split("</tr>")[0]


def test_a_backlog_limited_by_its_rate_limit_beside_an_idle_provider(client, shop, customer):
    _, busy = shop("smmcloud")
    _, idle = shop("smmcool")
    busy.calls_per_minute = 10  # 9 for sending, 1 kept for follow-up calls
    busy.save()
    orders_placed(customer, busy, 12, "busy")

    dispatch_orders(busy.pk)  # the task: the run, then what it met recorded for the dashboard

    figures = {row.provider: row for row in selectors.sending(providers=selectors.provider_health())}
    limited = figures[busy]
    assert (limited.unsent, limited.due, limited.sent) == (3, 3, 9)
    assert limited.per_minute == Decimal("0.9")
    assert (limited.budget.calls_per_minute, limited.budget.kept) == (10, 1)
    assert limited.limited_by == LimitedBy.RATE_LIMIT
    assert (timezone.now() - limited.stopped_at).total_seconds() < 60
    quiet = figures[idle]
    assert (quiet.unsent, quiet.due, quiet.sent, quiet.limited_by) == (0, 0, 0, "")
    assert (quiet.budget.calls_per_minute, quiet.budget.kept) == (10_000, 1000)

    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    row = sending_row(page, busy)
    assert '<td class="backlog">3</td>' in row and '<td class="due">3</td>' in row
    assert '<td class="rate">0.9/min (9)</td>' in row
    assert "10 calls/min, 1 kept for follow-up calls" in row
    assert "<strong>its rate limit</strong>: the budget was spent" in row
    row = sending_row(page, idle)
    assert '<td class="backlog">0</td>' in row and '<td class="rate">0.0/min (0)</td>' in row
    assert "10000 calls/min, 1000 kept" in row and "—</td>" in row

    # Once the budget's minute is over the rest goes out, and nothing limits the provider any more.
    Order.objects.filter(provider=busy, status=S.QUEUED).update(status=S.PENDING, sent_at=timezone.now())
    (after,) = selectors.sending(providers=[busy])
    assert (after.unsent, after.sent, after.limited_by) == (0, 12, "")


def test_a_provider_failing_its_calls_is_limited_by_errors(client, shop, customer, unused_tcp_port):
    server, provider = shop()
    server.sim.set_fault("http_502")
    unknown = orders_placed(customer, provider, 2, "502")
    dispatch_orders(provider.pk)  # no valid answer to either add: both to the review queue
    provider.api_url = f"http://127.0.0.1:{unused_tcp_port}/api/v2"  # then down altogether
    provider.save()
    waiting = orders_placed(customer, provider, 2, "down")
    dispatch_orders(provider.pk)  # nothing sent: both wait for their retry

    statuses = dict(Order.objects.filter(provider=provider).values_list("pk", "status"))
    assert statuses == {o.pk: S.NEEDS_REVIEW for o in unknown} | {o.pk: S.WAITING for o in waiting}
    (row,) = selectors.sending(providers=[provider])
    assert (row.unsent, row.due, row.sent) == (2, 0, 0)
    failed = ProviderCall.objects.exclude(outcome=ProviderCall.Outcome.OK).count()
    assert row.failed_calls == failed >= 4 and row.calls == failed + 2  # and the shop's two syncs, answered
    assert row.limited_by == selectors.ERRORS

    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    row_html = sending_row(page, provider)
    assert '<td class="backlog">2</td>' in row_html and '<td class="due">0</td>' in row_html
    assert (
        f'<span class="bad">errors</span>: {floatformat(row.failed_percent, 0)}% of {row.calls} calls failed'
        in row_html
    )


def test_a_few_failed_calls_are_no_alarm(shop):
    _, provider = shop()
    for _ in range(2):
        ProviderCall.objects.create(
            provider=provider, action="status", duration_ms=5, outcome=ProviderCall.Outcome.UNKNOWN
        )
    (row,) = selectors.sending(providers=[provider])
    assert row.failed_percent == 50 and row.limited_by == ""  # 2 of 4, fewer than ERRORS_MIN_FAILED
    ProviderCall.objects.create(
        provider=provider, action="status", duration_ms=5, outcome=ProviderCall.Outcome.REJECTED
    )
    (row,) = selectors.sending(providers=[provider])
    assert row.failed_calls == 2 and row.limited_by == ""  # refused is an answer, not a failure


def test_slow_answers_limit_a_backlog(client, shop, customer, monkeypatch):
    server, provider = shop()
    provider.send_concurrency = 1
    provider.save()
    orders_placed(customer, provider, 4, "slow")
    server.sim.set_fault("slow", action="add", delay=0.5)
    monkeypatch.setattr("orders.dispatch.SLICE_SECONDS", 0.8)

    run = orders_dispatch(provider=provider)  # not recorded: only the answers' pace tells

    assert (run.sent, run.limited_by) == (2, LimitedBy.SLOWNESS)
    (row,) = selectors.sending(providers=[provider])
    assert (row.unsent, row.due, row.sent) == (2, 2, 2)
    assert 500 <= row.add_ms < 2000 and row.paced_by_answers < 120  # one at a time, half a second each
    assert row.limited_by == LimitedBy.SLOWNESS

    staff(client, "olive", "Owner")
    page = client.get("/admin/console/dashboard/").content.decode()
    assert f"its answers to add take {floatformat(row.add_ms, 0)} ms on average, 1 at once" in sending_row(
        page, provider
    )

    # The run's own word, once recorded, holds even when the answers were quick.
    ProviderCall.objects.filter(action="add").update(duration_ms=5)
    assert selectors.sending(providers=[provider])[0].limited_by == ""
    dispatch_state_record(provider.pk, run)
    assert selectors.sending(providers=[provider])[0].limited_by == LimitedBy.SLOWNESS


def test_sending_figures_take_the_same_queries_whatever_the_providers_and_orders(shop, customer, placed):
    def queries():
        providers = selectors.provider_health()
        with CaptureQueriesContext(connection) as captured:
            rows = selectors.sending(providers=providers)
        assert len(rows) == len(providers)
        return len(captured)

    before = queries()
    _, other = shop("smmcool")
    orders_placed(customer, other, 3, "more")
    placed(S.QUEUED), placed(S.WAITING), placed(S.PENDING, sent_at=timezone.now())
    orders_dispatch(provider=other)
    dispatch_state_record(other.pk, orders_dispatch(provider=other))
    assert queries() == before
