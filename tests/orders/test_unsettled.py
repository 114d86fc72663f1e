"""Provider answers that leave the money unsettled never close an order by guess: a final status without the
figures its refund needs, and orders the provider no longer accounts for, reach the review queue, where an
operator settles them (DOMAIN §4.13)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import account_for, ledger_audit
from console.selectors import review_queue
from orders.models import Order
from orders.selectors import orders_needing_review
from orders.services import (
    OrderRefused,
    order_apply_status,
    order_mark_resolved,
    order_place,
    order_settle_undelivered,
    order_submit,
    orders_sync_statuses,
)
from panels.client import RemoteOrderStatus
from panels.normalize import order_status
from tests.orders.support import service_of
from tests.staff import member

S = Order.Status
LATER = timedelta(minutes=31)


@pytest.fixture
def operator(db):
    return member("Owner")  # settling refunds: who may move money


def sent(provider, customer, link, quantity=300):
    service = service_of(provider, "Default", refill=True)
    order = order_place(user=customer, service=service, data={"link": link, "quantity": str(quantity)})
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    return order


def sync(server, provider, *orders, steps=1):
    server.sim.advance(steps)
    orders_sync_statuses(provider=provider)
    for order in orders:
        order.refresh_from_db()


def queued(now=None) -> dict[int, str]:
    return {entry.order.pk: entry.check for entry in review_queue(now=now)}


# --- a final status without the figures its refund needs ---------------------------------------------------


def test_a_partial_without_remains_waits_for_an_operator_who_refunds_exactly_the_undelivered_part(
    shop, customer, operator
):
    server, provider = shop("smmcloud", partial_without_remains=True)
    order = sent(provider, customer, "https://x.example/partial")

    sync(server, provider, order, steps=5)

    upstream = server.sim.order(order.provider_order_id)
    assert upstream.status == "Partial" and "remains" not in server.sim._order_record(upstream)
    # Not closed, not refunded: in the review queue with why and what to do.
    assert order.status in (S.PENDING, S.IN_PROGRESS) and order.figures_missing_since is not None
    assert order.refunded == 0 and order.provider_status == "Partial"
    assert "finished (Partial) without the figures the refund needs" in queued()[order.pk]
    assert "without the figures its refund needs" in order.events.last().message
    sync(server, provider, order)  # asked again: still waiting, one event
    assert order.events.filter(message__contains="without the figures").count() == 1
    with pytest.raises(OrderRefused, match="settle it"):
        order_mark_resolved(order=order, actor=operator)

    refunded = order_settle_undelivered(
        order=order, undelivered=upstream.remains, actor=operator, note="panel"
    )

    order.refresh_from_db()
    assert (order.status, order.remains, order.figures_missing_since) == (S.PARTIAL, 100, None)
    assert refunded == order.refunded == order.charge / 3
    assert order.pk not in queued()
    sync(server, provider, order)  # a final order is not polled, nor refunded again
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).count() == 1
    assert ledger_audit(account=account_for(customer)).ok


def test_bare_status_strings_in_a_multi_answer_wait_for_the_figures(shop, customer):
    # A multi answer where every second id is a bare string: {"10002": "Partial"}.
    server, provider = shop("smmcloud", multi_bare_strings=True)
    first = sent(provider, customer, "https://x.example/partial-1")
    second = sent(provider, customer, "https://x.example/partial-2")
    server.sim.advance(5)

    sync(server, provider, first, second, steps=0)

    assert (first.status, first.refunded) == (S.PARTIAL, first.charge / 3)
    assert second.status != S.PARTIAL and second.figures_missing_since and second.refunded == 0
    assert list(queued()) == [second.pk]

    # The next answer carries the figures (it is the only id asked for now): settled without an operator.
    sync(server, provider, second, steps=0)
    assert (second.status, second.refunded, second.figures_missing_since) == (
        S.PARTIAL,
        second.charge / 3,
        None,
    )
    assert queued() == {}


@pytest.mark.parametrize(
    ("raw", "seen_before", "refunded", "waits"),
    [
        ("Canceled", None, "all", False),  # canceled before anything started: all of it comes back
        ("Refunded", None, "all", False),
        ("Fail", None, "all", False),
        ("Canceled", "In progress", None, True),  # some may have been delivered: never guessed
        ("Refunded", "In progress", None, True),
        ("Partial", None, None, True),
        ("Completed", None, None, False),
    ],
)
def test_which_final_statuses_need_figures(shop, customer, raw, seen_before, refunded, waits):
    _, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/a")
    if seen_before:
        order_apply_status(order=order, remote=remote(seen_before, remains=order.units))
    order.save()

    order_apply_status(order=order, remote=remote(raw))

    order.refresh_from_db()
    assert (order.figures_missing_since is not None) == waits == (order.pk in queued())
    assert order.refunded == (order.charge if refunded == "all" else 0)


def remote(raw: str, remains: int | None = None) -> RemoteOrderStatus:
    return RemoteOrderStatus(order_status(raw), raw, None, "", None, remains)


@pytest.mark.parametrize(
    "later",
    [
        ["Completed"],
        ["In progress", "Completed"],  # back to work first, then "done"
        ["Processing", "In progress", "Completed"],
    ],
)
def test_a_status_that_flips_after_ending_short_without_figures_settles_nothing(shop, customer, later):
    """Partial without remains, then Completed: closing on the later answer would keep the undelivered part's
    money without anyone having looked. The order stays the operator's until an answer says how short."""
    _, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/flip")
    order_apply_status(order=order, remote=remote("Partial"))
    order.refresh_from_db()
    assert order.status == S.PENDING and order.figures_missing_since and order.pk in queued()

    for raw in later:
        order_apply_status(order=order, remote=remote(raw, remains=0))
        order.save()
        order.refresh_from_db()
        assert (order.status, order.provider_status, order.refunded) == (S.PENDING, raw, 0)
        assert order.figures_missing_since and order.pk in queued(), raw
    assert order.events.filter(message__contains="still kept for an operator").count() == len(later)

    # An answer with the figures settles it, once.
    order_apply_status(order=order, remote=remote("Partial", remains=100))
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 100, order.charge / 3)
    assert order.figures_missing_since is None and order.pk not in queued()
    assert ledger_audit(account=account_for(customer)).ok


# --- orders the provider no longer accounts for -----------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("error", "The provider answers 'Incorrect order ID' for this order."),
        ("missing", "The provider leaves this order out of its status answers."),
        ("unknown_status", "The provider reports a status nobody knows: 'On hold (moderation)'."),
    ],
)
def test_an_order_the_provider_forgot_joins_the_queue_after_a_while_and_several_syncs(
    shop, customer, operator, settings, how, reason
):
    settings.UNACCOUNTED_REVIEW_SYNCS = 3
    server, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/a")
    kept = sent(provider, customer, "https://x.example/b")
    server.sim.forget_order(order.provider_order_id, how)

    sync(server, provider, order, kept, steps=0)
    sync(server, provider, order, kept, steps=0)
    assert (order.unaccounted_syncs, order.unaccounted_reason) == (2, reason)
    assert kept.unaccounted_syncs == 0
    assert queued(now=timezone.now() + LATER) == {}  # two syncs are not enough
    sync(server, provider, order, steps=0)
    assert queued() == {}  # three syncs, but not for long enough yet
    assert list(queued(now=timezone.now() + LATER)) == [order.pk]
    assert queued(now=timezone.now() + LATER)[order.pk].startswith(
        f"The provider no longer knows this order: {reason} "
    )

    # It knows the order again: the count starts over.
    server.sim.forget_order(order.provider_order_id, "remember")
    sync(server, provider, order, steps=0)
    assert (order.unaccounted_syncs, order.unaccounted_since, order.unaccounted_reason) == (0, None, "")
    assert queued(now=timezone.now() + LATER) == {}

    # Forgotten for good: the operator looks it up and settles it.
    server.sim.forget_order(order.provider_order_id, how)
    for _ in range(3):
        sync(server, provider, order, steps=0)
    assert order.status == S.PENDING and order.pk in queued(now=timezone.now() + LATER)
    order_settle_undelivered(order=order, undelivered=order.units, actor=operator, note="not in its panel")
    order.refresh_from_db()
    assert (order.status, order.refunded, order.unaccounted_syncs) == (S.CANCELED, order.charge, 0)
    assert queued(now=timezone.now() + LATER) == {}


def test_a_call_for_one_forgotten_order_refused_whole_counts_for_that_order(shop, customer):
    server, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/a")  # alone: asked for as orders=<its id>
    server.sim.forget_order(order.provider_order_id, "call_error")
    for _ in range(3):
        sync(server, provider, order, steps=0)
    assert "Incorrect order ID" in order.unaccounted_reason and order.unaccounted_syncs == 3
    assert list(queued(now=timezone.now() + LATER)) == [order.pk]


def test_marking_a_forgotten_order_resolved_takes_it_off_the_queue(shop, customer, operator):
    server, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/a")
    server.sim.forget_order(order.provider_order_id)
    for _ in range(3):
        sync(server, provider, order, steps=0)
    assert order.pk in queued(now=timezone.now() + LATER)

    order_mark_resolved(order=order, actor=operator, note="running in its panel")

    assert order.pk not in queued(now=timezone.now() + LATER)


def test_settling_by_hand_is_only_for_orders_the_provider_left_unsettled(shop, customer, operator):
    _, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/a")
    with pytest.raises(OrderRefused, match="settled by hand"):
        order_settle_undelivered(order=order, undelivered=0, actor=operator)
    order_apply_status(order=order, remote=remote("Partial"))
    with pytest.raises(Exception, match="give 0 to 300"):
        order_settle_undelivered(order=order, undelivered=301, actor=operator)
    assert order_settle_undelivered(order=order, undelivered=0, actor=operator) == Decimal(0)
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.COMPLETED, 0)
    assert not orders_needing_review().filter(pk=order.pk).exists()


def test_the_operator_settles_from_the_review_queue_in_the_admin(shop, customer, client):
    server, provider = shop("smmcloud", partial_without_remains=True)
    order = sent(provider, customer, "https://x.example/partial")
    sync(server, provider, order, steps=5)
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))

    queue = client.get("/admin/console/review/").content.decode()
    assert 'value="settle"' in queue and "without the figures the refund needs" in queue
    changelist = "/admin/orders/order/"
    form = client.post(changelist, {"action": "settle", "_selected_action": [order.pk]}).content.decode()
    assert "Not delivered (units)" in form
    for typed, error in [
        ("\u0661\u0660\u0660", "Write it with the digits 0-9 only."),
        ("lots", "whole number"),
    ]:
        page = client.post(
            changelist,
            {"action": "settle", "_selected_action": [order.pk], "confirmed": "1", "undelivered": typed},
        )
        assert error in page.content.decode()
    order.refresh_from_db()
    assert order.refunded == 0 and order.figures_missing_since

    client.post(
        changelist,
        {
            "action": "settle",
            "_selected_action": [order.pk],
            "confirmed": "1",
            "undelivered": "100",
            "note": "seen",
        },
    )

    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 100, order.charge / 3)
    assert "closed it as Partial: 100 of 300 not delivered (seen)." in order.events.last().message


def test_a_cancel_without_figures_after_a_partial_without_them_refunds_nothing_by_guess(shop, customer):
    # Pending, then "Partial" (so something was delivered), then a bare "Canceled": not "all undelivered".
    _, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/partial-then-canceled")
    order_apply_status(order=order, remote=remote("Partial"))
    order_apply_status(order=order, remote=remote("Canceled"))
    order.save()
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.PENDING, 0) and order.figures_missing_since
    assert order.pk in queued()


# --- orders at a provider that is disabled ----------------------------------------------------------------


def test_open_orders_at_a_disabled_provider_reach_the_queue_and_the_operator_settles_them(
    shop, customer, operator
):
    """Disabled providers are neither synced nor sent orders: their open orders would wait forever, nothing
    undelivered refunded, and no action could settle them."""
    from orders.tasks import sync_all_order_statuses

    server, provider = shop("smmcloud")
    order = sent(provider, customer, "https://x.example/disabled")
    sync(server, provider, order)
    assert order.status == S.IN_PROGRESS
    with pytest.raises(OrderRefused):  # while its provider answers, it is the provider's to settle
        order_settle_undelivered(order=order, undelivered=order.units, actor=operator)

    provider.enabled = False
    provider.save()
    server.sim.advance(5)  # it ends short upstream; nobody asks any more
    sync_all_order_statuses()
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS and order.refunded == 0
    assert order.pk not in queued()  # a provider disabled for a moment is no alarm
    check = queued(now=timezone.now() + LATER)[order.pk]
    assert check.startswith("Its provider is disabled")

    order_settle_undelivered(order=order, undelivered=100, actor=operator, note="its panel: 100 left")

    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 100, order.charge / 3)
    assert queued(now=timezone.now() + LATER) == {}
    assert ledger_audit(account=account_for(customer)).ok
