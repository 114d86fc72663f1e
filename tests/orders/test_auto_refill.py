"""Auto-refill, against the provider simulator over HTTP: once per interval within the refill window, never
while a refill is open or of unknown outcome, on a drop the provider reports or every N days, the periodic
task's calls bounded (status 100 ids a call within the provider's budget, one refill call per order due)."""

from datetime import timedelta

import pytest
from django.utils import timezone

import orders.auto_refill as auto_refill
from audit.models import AuditEntry
from catalogue.models import Service
from orders.models import Order, Refill
from orders.refills import refill_close, refill_request, refill_send, refills_sync_statuses
from orders.services import order_place, order_submit
from orders.tasks import auto_refill_all, auto_refill_provider
from tests.console.support import page_form
from tests.orders.support import service_of, settle
from tests.staff import staff

A = Service.AutoRefill
R = Refill.Status
DAY = timedelta(days=1)


@pytest.fixture
def completed(shop, customer):
    """``completed(A.EVERY, days=7)``: an order of the smmcloud simulator's refill service, whose auto-refill is
    set as asked, walked to Completed through the simulator (which stamps its first look)."""

    def make(mode, *, days=7, refill_days=30, link="https://x.example/auto", dialect_options=None):
        server, provider = shop("smmcloud", **(dialect_options or {}))
        service = service_of(provider, "Default", refill=True)
        Service.objects.filter(pk=service.pk).update(
            auto_refill=mode, auto_refill_days=days, refill_days=refill_days
        )
        service.refresh_from_db()
        order = order_place(user=customer, service=service, data={"link": link, "quantity": "100"})
        order_submit(order_id=order.pk)
        settle(server, provider, order)
        assert order.status == Order.Status.COMPLETED
        return server, provider, order

    return make


def run(provider, at):
    return auto_refill.auto_refill_run(provider=provider, now=at)


def refilled_upstream(server, provider, order) -> None:
    """The worker sends the refills auto-refill asked for, and the provider completes them."""
    for refill in order.refills.filter(status=R.REQUESTED):
        refill_send(refill_id=refill.pk)
    server.sim.advance(3)
    refills_sync_statuses(provider=provider)


def automatic(order) -> int:
    return order.refills.filter(automatic=True).count()


def test_every_n_days_asks_once_per_interval_and_never_past_the_window(completed):
    server, provider, order = completed(A.EVERY, days=7, refill_days=30)
    done = order.finished_at
    assert order.auto_refill_check_at == done + 7 * DAY
    status_calls = server.sim.calls["status"]

    assert run(provider, done + 6 * DAY).due == 0
    for week in (1, 2, 3, 4):
        at = done + week * 7 * DAY + timedelta(minutes=1)
        assert run(provider, at).requested == 1
        assert run(provider, at).requested == 0  # looked at once: the next look is a week on
        assert automatic(order) == week
        refilled_upstream(server, provider, order)

    order.refresh_from_db()
    assert order.auto_refill_check_at is None  # a fifth week falls outside the 30 days
    assert run(provider, done + 36 * DAY).due == 0
    assert automatic(order) == 4 and len(server.sim.refills()) == 4
    assert server.sim.calls["status"] == status_calls  # "every N days" reads no status
    events = [(event.message, event.public_message) for event in order.events.all()]
    assert ("Auto-refill requested: every 7 days", "Auto-refill requested.") in events


def test_never_while_a_refill_is_open_or_its_outcome_unknown(completed):
    server, provider, order = completed(A.EVERY, days=7)
    done = order.finished_at
    customers = refill_request(order=order, actor=order.user)  # open: requested, not sent yet

    assert run(provider, done + 7 * DAY).requested == 0
    order.refresh_from_db()
    assert order.auto_refill_check_at == done + 14 * DAY  # not asked again before the next interval
    assert run(provider, done + 8 * DAY).due == 0
    assert "already under way" in order.events.last().message and not order.events.last().public_message

    server.sim.set_fault("http_500", action="refill", times=1)  # the provider took it; the answer is lost
    refill_send(refill_id=customers.pk)
    assert Refill.objects.get(pk=customers.pk).status == R.NEEDS_REVIEW
    assert run(provider, done + 14 * DAY).requested == 0
    assert "being checked" in order.events.last().message

    refill_close(refill_id=customers.pk, actor=order.user, note="none there")
    assert run(provider, done + 21 * DAY).requested == 1
    assert order.refills.count() == 2 and len(server.sim.refills()) == 1


def test_a_drop_the_provider_reports_is_refilled_at_the_next_look(completed):
    server, provider, order = completed(A.DROP, days=7)
    done = order.finished_at
    assert order.auto_refill_check_at == done + DAY  # a drop is looked for daily
    calls = server.sim.calls["status"]

    assert run(provider, done + DAY).requested == 0  # nothing dropped
    assert server.sim.calls["status"] == calls + 1
    server.sim.drop(order.provider_order_id, 20)

    result = run(provider, done + 2 * DAY)

    assert (result.requested, result.status_calls) == (1, 1)
    refill = order.refills.get()
    assert refill.automatic
    assert "the provider reports 20 of 100 missing since completion" in order.events.last().message
    order.refresh_from_db()
    assert order.remains == 0  # what the customer was charged for is not rewritten by a drop
    assert order.auto_refill_check_at == done + 9 * DAY  # no second auto-refill within 7 days
    refilled_upstream(server, provider, order)
    assert Refill.objects.get(pk=refill.pk).status == R.COMPLETED
    assert run(provider, done + 9 * DAY).requested == 0  # refilled: no drop any more
    assert automatic(order) == 1


def test_a_refill_the_provider_refuses_is_not_asked_again_before_the_interval(completed):
    server, provider, order = completed(A.DROP, days=7, link="https://x.example/reject")
    done = order.finished_at
    server.sim.drop(order.provider_order_id, 30)
    assert run(provider, done + DAY).requested == 1
    refilled_upstream(server, provider, order)
    assert order.refills.get().status == R.REJECTED
    calls = server.sim.calls["status"]

    for day in range(2, 8):  # still dropped, and looked for daily, but asked for at most once a week
        assert run(provider, done + day * DAY).due == 0
    assert server.sim.calls["status"] == calls
    assert run(provider, done + 8 * DAY).requested == 1
    assert automatic(order) == 2


def test_a_provider_that_reports_nothing_after_completion_gets_the_every_n_days_fallback(completed):
    server, provider, order = completed(A.DROP_OR_EVERY, days=5, dialect_options={"reports_drops": False})
    done = order.finished_at
    server.sim.drop(order.provider_order_id, 40)  # it happened, but the status answer still says 0

    for day in range(1, 5):
        assert run(provider, done + day * DAY).requested == 0
    assert run(provider, done + 5 * DAY).requested == 1
    assert order.events.get(public_message="Auto-refill requested.").message.endswith("every 5 days")


def test_not_for_services_without_refill_nor_outside_the_window(completed, shop, customer):
    server, provider, order = completed(A.EVERY, days=7, refill_days=10)
    done = order.finished_at
    # The operator narrows the window after the look was stamped: the order is let go when it comes due.
    Service.objects.filter(pk=order.service_id).update(refill_days=6)
    assert run(provider, done + 7 * DAY).requested == 0
    order.refresh_from_db()
    assert order.auto_refill_check_at is None

    # A service that allows no refill is never followed, whatever its auto-refill says.
    no_refill = service_of(provider, "Default", refill=False)
    Service.objects.filter(pk=no_refill.pk).update(auto_refill=A.EVERY)
    other = order_place(
        user=customer, service=no_refill, data={"link": "https://x.example/n", "quantity": "100"}
    )
    order_submit(order_id=other.pk)
    settle(server, provider, other)
    assert other.status == Order.Status.COMPLETED and other.auto_refill_check_at is None
    assert auto_refill.auto_refill_enrol(service=Service.objects.get(pk=no_refill.pk)) == 0
    assert not Refill.objects.filter(automatic=True).exists()


def test_a_crash_before_the_commit_leaves_the_order_due_and_a_rerun_asks_once(completed, monkeypatch):
    _, provider, order = completed(A.EVERY, days=7)
    at = order.finished_at + 7 * DAY

    planned = auto_refill.auto_refill_next_check

    def dies(**kwargs):  # the worker dies after asking for the refill, before stamping the next look
        raise SystemExit("killed")

    monkeypatch.setattr(auto_refill, "auto_refill_next_check", dies)
    with pytest.raises(SystemExit):
        run(provider, at)
    assert not order.refills.exists()  # the request went with the transaction
    order.refresh_from_db()
    assert order.auto_refill_check_at <= at

    monkeypatch.setattr(auto_refill, "auto_refill_next_check", planned)
    assert run(provider, at).requested == 1
    assert run(provider, at).requested == 0
    assert order.refills.count() == 1


def completed_orders(order, remote_ids, *, finished_at) -> list[int]:
    """Copies of ``order`` (completed), one per provider order id, due for a look at ``finished_at``."""
    copies = []
    for remote_id in remote_ids:
        copy = Order.objects.get(pk=order.pk)
        copy.pk, copy.provider_order_id = None, remote_id
        copy.finished_at, copy.auto_refill_check_at = finished_at, finished_at
        copies.append(copy)
    return [copy.pk for copy in Order.objects.bulk_create(copies)]


def test_the_periodic_task_reads_statuses_in_batches_and_sends_one_refill_per_order_due(completed, published):
    server, provider, order = completed(A.DROP, days=7)
    remote_ids = server.sim.seed_orders(1, 149, quantity=100)
    server.sim.advance(3)
    hour_ago = timezone.now() - timedelta(hours=1)
    completed_orders(order, remote_ids, finished_at=hour_ago)
    Order.objects.filter(pk=order.pk).update(auto_refill_check_at=hour_ago)
    for remote_id in remote_ids[:3]:
        server.sim.drop(remote_id, 10)
    before = dict(server.sim.calls)
    published.clear()

    auto_refill_all()
    assert [(task.task, task.args) for task in published] == [
        ("orders.tasks.auto_refill_provider", (provider.pk,))
    ]
    assert published[0].queue.endswith("periodic")
    auto_refill_provider(provider.pk)
    for refill in Refill.objects.filter(automatic=True):
        refill_send(refill_id=refill.pk)  # what the sending worker does with each, once

    assert server.sim.calls["status"] - before.get("status", 0) == 2  # 150 orders, 100 ids a call
    assert server.sim.calls["refill"] - before.get("refill", 0) == 3
    assert Refill.objects.filter(automatic=True).count() == 3
    assert not Order.objects.filter(auto_refill_check_at__lte=timezone.now()).exists()
    auto_refill_provider(provider.pk)  # nothing due any more: no call at all
    assert server.sim.calls["status"] - before.get("status", 0) == 2


def test_a_run_stays_within_the_providers_budget(completed):
    server, provider, order = completed(A.DROP, days=7)
    remote_ids = server.sim.seed_orders(1, 249, quantity=100)
    server.sim.advance(3)
    now = timezone.now()
    completed_orders(order, remote_ids, finished_at=now - timedelta(hours=1))
    Order.objects.filter(pk=order.pk).update(auto_refill_check_at=now - timedelta(hours=2))
    provider.calls_per_minute = 2  # a fresh window of two calls a minute
    provider.save(update_fields=["calls_per_minute"])

    result = run(provider, now)

    assert (result.due, result.status_calls, result.deferred) == (250, 2, 1)
    assert result.looked_at == 200
    assert Order.objects.filter(auto_refill_check_at__lte=now).count() == 50  # the next run's


def test_the_customer_and_the_operator_see_auto_refills(completed, client):
    server, provider, order = completed(A.DROP, days=7)
    server.sim.drop(order.provider_order_id, 5)
    run(provider, order.finished_at + DAY)

    client.force_login(order.user)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "Auto-refill requested." in page and "automatic" in page
    assert "missing since completion" not in page  # the operator's words stay the operator's
    assert "automatic" in client.get("/refills/").content.decode()

    staff(client, "olive", "Owner")
    dashboard = client.get("/admin/console/dashboard/").content.decode()
    assert '<strong id="auto-refills">1</strong>' in dashboard
    assert "1 completed order followed" in dashboard


def test_the_operator_turns_auto_refill_on_in_the_admin(completed, client):
    _, _, order = completed(A.OFF)
    assert order.auto_refill_check_at is None
    staff(client, "olive", "Owner")
    url = f"/admin/catalogue/service/{order.service_id}/change/"
    data = page_form(client, url, "auto_refill")
    data.update(auto_refill=A.EVERY, auto_refill_days="3")

    response = client.post(url, data, follow=True)

    assert "Auto-refill follows 1 completed order(s)" in response.content.decode()
    order.refresh_from_db()
    assert order.finished_at + 3 * DAY <= order.auto_refill_check_at <= timezone.now() + 3 * DAY
    row = AuditEntry.objects.get(action="catalogue.service.change")
    assert row.changes["auto_refill"] == ["", "every"] and row.changes["auto_refill_days"] == [7, 3]

    data.pop("refill")  # refill no longer allowed: auto-refill is refused with it
    refused = client.post(url, data).content.decode()
    assert "Auto-refill needs refill allowed." in refused

    data.update(refill="on", auto_refill=A.OFF)
    client.post(url, data)
    order.refresh_from_db()
    assert order.auto_refill_check_at is None
