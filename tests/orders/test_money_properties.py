"""Whatever happens to orders, the money adds up (hypothesis)."""

import contextlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from billing.models import LedgerEntry
from billing.services import InsufficientFunds, account_for, balance_deposit, ledger_audit
from catalogue.models import Service
from orders.models import Order
from orders.services import (
    OrderRefused,
    order_apply_status,
    order_cancel,
    order_fail_and_refund,
    order_place,
)
from panels.client import RemoteOrderStatus
from panels.models import Provider, ProviderService
from panels.normalize import OrderStatus
from reseller.states import transition
from tests.profiles import examples

D = Decimal
S = Order.Status

statuses = st.sampled_from(
    [
        OrderStatus.IN_PROGRESS,
        OrderStatus.PROCESSING,
        OrderStatus.COMPLETED,
        OrderStatus.PARTIAL,
        OrderStatus.CANCELED,
        OrderStatus.REFUNDED,
        OrderStatus.UNKNOWN,
        OrderStatus.PENDING,
    ]
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.decimals(min_value=D("0.01"), max_value=D(50), places=2)),
        st.tuples(st.just("order"), st.integers(10, 5000)),
        st.tuples(st.just("send"), st.integers(0, 4)),
        # remains as providers send it: missing, negative, or more than ordered
        st.tuples(
            st.just("status"), st.integers(0, 4), statuses, st.one_of(st.none(), st.integers(-50, 6000))
        ),
        st.tuples(st.just("cancel"), st.integers(0, 4)),
        st.tuples(st.just("refund"), st.integers(0, 4)),
    ),
    min_size=5,
    max_size=40,
)


@pytest.fixture
def service(db):
    provider = Provider.objects.create(
        name="p", api_url="https://p.example/api/v2", api_key="k" * 16, currency="USD"
    )
    upstream = ProviderService.objects.create(
        provider=provider,
        remote_id="1",
        name="Followers",
        rate=D("0.9"),
        min_quantity=10,
        max_quantity=5000,
        cancel=True,
    )
    return Service.objects.create(
        name="Followers",
        category="c",
        type="Default",
        provider_service=upstream,
        min_quantity=10,
        max_quantity=5000,
        cancel=True,
        price=D("1.37"),
    )


@settings(
    max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps)
def test_the_ledger_always_explains_the_balance(service, monkeypatch, ops):
    monkeypatch.setattr("orders.tasks.dispatch_orders.apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr("orders.tasks.send_cancel.delay", lambda order_id: None)
    with transaction.atomic():
        user = User.objects.create_user(f"u{User.objects.count()}")
        operator = User.objects.create_superuser(f"op{User.objects.count()}", "o@example.com", "pw")
        account = account_for(user)
        balance_deposit(account=account, amount=D(20))
        orders: list[Order] = []

        def pick(index):
            return Order.objects.get(pk=orders[index % len(orders)].pk) if orders else None

        for op in ops:
            if op[0] == "deposit":
                balance_deposit(account=account, amount=op[1])
            elif op[0] == "order":
                with contextlib.suppress(InsufficientFunds):
                    orders.append(
                        order_place(
                            user=user,
                            service=service,
                            data={"link": f"https://x.example/{len(orders)}", "quantity": str(op[1])},
                        )
                    )
            elif (order := pick(op[1])) is None:
                continue
            elif op[0] == "send" and order.status == S.QUEUED:
                transition(order, S.SENDING, message="claim")
                transition(order, S.PENDING, message="sent", changes={"provider_order_id": f"r{order.pk}"})
            elif op[0] == "status" and order.status in (S.PENDING, S.IN_PROGRESS, S.PROCESSING):
                remote = RemoteOrderStatus(
                    status=op[2],
                    raw_status=op[2].value,
                    charge=None,
                    currency="USD",
                    start_count=None,
                    remains=op[3],
                )
                with transaction.atomic():
                    order_apply_status(
                        order=Order.objects.select_for_update().get(pk=order.pk), remote=remote
                    )
            elif op[0] == "cancel":
                with contextlib.suppress(ValidationError):
                    order_cancel(order=order)
            elif op[0] == "refund":
                with contextlib.suppress(OrderRefused):
                    order_fail_and_refund(order=order, actor=operator, reason="property")

        for order in Order.objects.filter(user=user):
            event(f"an order ended {order.get_status_display()}{' with a refund' if order.refunded else ''}")
        audit = ledger_audit(account=account)
        assert audit.ok, audit
        assert audit.balance >= 0
        for order in Order.objects.filter(user=user):
            refunds = LedgerEntry.objects.filter(idempotency_key=f"refund:order:{order.pk}")
            assert refunds.count() <= 1
            assert (refunds.aggregate(total=Sum("amount"))["total"] or D(0)) == order.refunded
            assert 0 <= order.refunded <= order.charge
            if order.status == S.COMPLETED:
                assert order.refunded == 0
        transaction.set_rollback(True)
