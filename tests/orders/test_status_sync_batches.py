"""A status sync's cost per batch: its statements do not grow with the orders a batch holds nor with how many of
them move — the receivers that mail, queue webhooks and check low balances included, and one message per kind
of work a batch queues; every move still has its event, its signal and (Partial, Canceled) its refund, once,
and every customer is told what they were told order by order."""

import math
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import LedgerEntry
from billing.money import to_money
from billing.services import account_for, balance_changed, balance_deposit, ledger_audit
from notifications.kinds import CustomerKind as K
from notifications.models import CustomerPreferences, Notification
from notifications.tasks import customer_mail
from orders.models import Order, OrderEvent
from orders.services import orders_sync_statuses
from reseller.states import public_status_changed
from tests.builders import order_in
from tests.orders.support import service_of
from webhooks.models import Delivery
from webhooks.services import endpoint_set

S = Order.Status


# The counts are PostgreSQL's: a batch's rows are written with one ``UPDATE … FROM unnest(…)`` and one
# ``INSERT … SELECT … FROM unnest(…)`` there; SQLite (the embedded default) has no arrays and writes them in
# chunks of its parameter limit, more statements for more rows.
counts_of_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statements")


@pytest.fixture
def heard():
    """What the sync announces, counted, with the receivers that mail, queue webhooks and check low balances
    set aside: their statements are theirs (tests/notifications, tests/webhooks), not the sync's."""
    heard = {"status": [], "balance": []}

    def status(sender, changes, **kwargs):
        heard["status"].extend((change.instance.pk, change.before, change.after) for change in changes)

    def balance(sender, entries, **kwargs):
        heard["balance"].extend(entry.pk for entry in entries)

    kept = public_status_changed.receivers, balance_changed.receivers
    public_status_changed.receivers, balance_changed.receivers = [], []
    public_status_changed.connect(status, weak=False)
    balance_changed.connect(balance, weak=False)
    public_status_changed.sender_receivers_cache.clear()
    balance_changed.sender_receivers_cache.clear()
    yield heard
    public_status_changed.receivers, balance_changed.receivers = kept
    public_status_changed.sender_receivers_cache.clear()
    balance_changed.sender_receivers_cache.clear()


@pytest.fixture
def sent_orders(shop, db):
    """``sent_orders(count, status, remains)``: ``count`` Pending orders of three customers, sent upstream,
    where the provider reports them ``status`` with ``remains``."""
    server, provider = shop()
    service = service_of(provider, "Default", refill=False)
    customers = [User.objects.create_user(f"customer-{n}") for n in range(3)]
    balance_deposit(account=account_for(customers[0]), amount=Decimal(100))
    for customer in customers[1:]:
        account_for(
            customer
        )  # (a customer without one gets it made in the refund's transaction: 2 statements)

    def make(count, status="Pending", remains=None):
        remote_ids = server.sim.seed_orders(1, count, status=status, remains=remains)
        template = order_in(S.PENDING, user=customers[0], service=service, provider_order_id=remote_ids[0])
        template.pk = None
        copies = []
        for n, remote_id in enumerate(remote_ids[1:], start=1):
            template.provider_order_id, template.user = remote_id, customers[n % len(customers)]
            copies.append(
                Order(**{f.attname: getattr(template, f.attname) for f in Order._meta.concrete_fields})
            )
        Order.objects.bulk_create(copies)
        return list(Order.objects.filter(provider_order_id__in=remote_ids).order_by("pk"))

    make.server, make.provider, make.customers = server, provider, customers
    return make


def synced(sent_orders) -> tuple[int, int]:
    """(statements, status calls) of one sync."""
    calls = sent_orders.server.sim.calls["status"]
    with CaptureQueriesContext(connection) as queries:
        orders_sync_statuses(provider=sent_orders.provider)
    return len(queries), sent_orders.server.sim.calls["status"] - calls


@counts_of_postgresql
def test_a_batch_costs_the_same_statements_however_many_orders_it_holds(sent_orders, heard):
    sent_orders(10)
    few, calls = synced(sent_orders)
    assert calls == 1
    Order.objects.update(status=S.COMPLETED)  # out of the next sync

    orders = sent_orders(90)
    many, calls = synced(sent_orders)

    assert calls == 1
    assert many == few
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("provider_status", flat=True)
    ) == {"Pending"}
    assert heard["status"] == []
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


@counts_of_postgresql
def test_calls_are_one_per_hundred_orders_and_statements_one_batch_s_worth_each(sent_orders, heard):
    sent_orders(100)
    one, _ = synced(sent_orders)
    Order.objects.update(status=S.COMPLETED)

    sent_orders(250)
    three, calls = synced(sent_orders)

    assert calls == math.ceil(250 / 100)
    # The ids are read once for the whole sync; each batch adds what the first one cost beyond that.
    assert three - one == 2 * (one - 1)


@counts_of_postgresql
def test_every_order_ending_partial_costs_the_same_statements_and_is_refunded_once(sent_orders, heard):
    first = sent_orders(10, status="Partial", remains=3)
    few, _ = synced(sent_orders)
    heard["status"].clear()
    heard["balance"].clear()

    orders = sent_orders(60, status="Partial", remains=3)
    many, _ = synced(sent_orders)

    assert many == few
    refund = to_money(orders[0].charge * 3 / orders[0].units)  # 3 of 10 units
    assert refund > 0
    for order in orders:
        order.refresh_from_db()
        assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 3, refund)
        moves = order.events.filter(from_status=S.PENDING, to_status=S.PARTIAL)
        assert [event.public_message for event in moves] == ["Partial"]
        assert order.events.filter(message__startswith=f"Refunded {refund}: 3 of").count() == 1
    assert sorted(pk for pk, *_ in heard["status"]) == [order.pk for order in orders]
    assert {(before, after) for _, before, after in heard["status"]} == {("Pending", "Partial")}
    refunds = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.REFUND, idempotency_key__startswith="refund:order:"
    )
    later = refunds.exclude(reference__in=[f"order {order.pk}" for order in first])
    # (the other change heard is the charge of the order the copies were made from)
    assert len(set(heard["balance"])) == len(heard["balance"])
    assert set(later.values_list("pk", flat=True)) == set(
        later.filter(pk__in=heard["balance"]).values_list("pk", flat=True)
    )
    assert later.count() == len(orders)
    assert refunds.count() == len(first) + len(orders)

    # Asked again (a later sync, a retried batch): finished orders are not polled, and nothing is refunded twice.
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=S.PENDING)
    events = OrderEvent.objects.count()
    orders_sync_statuses(provider=sent_orders.provider)
    assert refunds.count() == len(first) + len(orders)
    assert Order.objects.filter(pk__in=[o.pk for o in orders], refunded=refund).count() == len(orders)
    assert OrderEvent.objects.count() == events + len(orders)  # the moves again, no second refund line
    for customer in sent_orders.customers:
        assert ledger_audit(account=account_for(customer)).ok


@counts_of_postgresql
def test_every_order_ending_partial_costs_the_same_statements_and_messages_with_its_customers_told(
    sent_orders, published, django_capture_on_commit_callbacks
):
    """The receivers at work: every customer has an address and a threshold above their balance (each batch's
    refunds leave them below it, told afresh), two of the three a webhook."""
    customers = sent_orders.customers
    for n, customer in enumerate(customers):
        customer.email = f"customer-{n}@example.com"
        customer.save(update_fields=["email"])
        CustomerPreferences.objects.create(user=customer, low_balance_threshold=Decimal(10_000))
    for customer in customers[:2]:
        endpoint_set(user=customer, url="http://127.0.0.1:9/hook")

    def sync(count) -> tuple[list[Order], int, list]:
        orders = sent_orders(count, status="Partial", remains=3)
        CustomerPreferences.objects.update(low_balance_told=False)
        published.clear()
        with django_capture_on_commit_callbacks(execute=True):
            statements, calls = synced(sent_orders)
        # Done, as a commit does (the test's transaction never commits): the next batch's work is its own.
        connection.run_on_commit.clear()
        assert calls == 1
        return orders, statements, sorted(published)

    _, few, few_published = sync(10)
    Order.objects.update(status=S.COMPLETED)  # out of the next sync
    orders, many, many_published = sync(60)

    assert many == few
    mails, kick = "notifications.tasks.customer_mail", "webhooks.tasks.deliver_webhooks"
    # One message for the orders' mails, one for the low-balance mails, one sending run for the webhooks.
    assert [task for task, _, _ in few_published] == [mails, mails, kick]
    assert [task for task, _, _ in many_published] == [mails, mails, kick]

    told = Notification.objects.filter(kind=K.ORDER_PARTIAL, target_id__in=[order.pk for order in orders])
    assert sorted(told.values_list("target_id", "user_id")) == [(order.pk, order.user_id) for order in orders]
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).values("pk")
    low = Notification.objects.filter(kind=K.LOW_BALANCE, target_id__in=refunds)  # (not the orders' charges)
    assert sorted(low.values_list("user_id", flat=True)) == sorted(
        2 * [customer.pk for customer in customers]
    )
    hooked = {customer.pk for customer in customers[:2]}
    deliveries = Delivery.objects.filter(subject__in=[f"order:{order.pk}" for order in orders])
    assert sorted(deliveries.values_list("subject", flat=True)) == sorted(
        f"order:{order.pk}" for order in orders if order.user_id in hooked
    )

    # What the messages ask a worker to send: each order's mail to its customer, and each low balance, once.
    for _, _, ids in many_published:
        if ids:  # the webhook run carries none
            customer_mail(*ids)
            customer_mail(*ids)  # a redelivered message mails nothing more
    address = {customer.pk: customer.email for customer in customers}
    partly = [message for message in mail.outbox if "partly delivered" in message.subject]
    assert sorted((message.to, message.subject) for message in partly) == sorted(
        (
            [address[order.user_id]],
            f"Order #{order.pk} was partly delivered: {order_refund(order)} USD refunded",
        )
        for order in orders
    )
    assert sorted(message.to[0] for message in mail.outbox if "below" in message.subject) == sorted(
        address.values()
    )

    # Asked again (a retried batch): nothing is told twice.
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=S.PENDING)
    notifications = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        orders_sync_statuses(provider=sent_orders.provider)
    assert Notification.objects.count() == notifications


def order_refund(order: Order):
    order.refresh_from_db()
    return order.refunded
