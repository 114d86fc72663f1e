"""The operator's daily hand on one order (orders/services.py, the order admin's actions): figures set by hand,
closing as completed or partial with the refund computed, cancel-and-refund of an order placed upstream, and
resending to another route. Money exact and given once; what the state table forbids refused; one audit row
each; the customer's history never names the provider; Support gets only what its role allows."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from billing.models import LedgerEntry
from billing.money import to_money
from billing.services import account_for
from catalogue.models import ServiceRoute
from orders.models import Order
from orders.services import (
    OrderRefused,
    order_cancel_placed,
    order_finish,
    order_resend_to,
    order_set_figures,
)
from panels.models import ProviderService
from reseller.states import TransitionRefused
from tests.staff import member

pytestmark = pytest.mark.django_db

S = Order.Status
D = Decimal


@pytest.fixture
def make_order(on_sale, customer):
    service = on_sale()

    def make(status=S.IN_PROGRESS, *, units=300, charge="2.5000", **fields):
        if status not in (S.QUEUED, S.WAITING, S.NEEDS_REVIEW, S.SENDING):
            fields.setdefault("provider_order_id", f"P-{Order.objects.count() + 1}")
        return Order.objects.create(
            user=customer,
            service=service,
            provider=service.provider_service.provider,
            provider_service=service.provider_service,
            type="Default",
            link="https://x.example/p",
            fields={"link": "https://x.example/p", "quantity": str(units)},
            units=units,
            price=D("8.3333"),
            charge=D(charge),
            status=status,
            **fields,
        )

    make.service, make.customer = service, customer
    return make


def balance(order: Order) -> Decimal:
    return account_for(order.user).balance


def refunds(order: Order) -> list[Decimal]:
    return list(
        LedgerEntry.objects.filter(reference=f"order {order.pk}", kind=LedgerEntry.Kind.REFUND).values_list(
            "amount", flat=True
        )
    )


def public_lines(order: Order) -> list[str]:
    return list(order.events.exclude(public_message="").values_list("public_message", flat=True))


def no_provider_in(order: Order) -> None:
    provider = order.provider
    for line in public_lines(order):
        assert (
            provider.name not in line
            and "upstream" not in line
            and (order.provider_order_id or "@") not in line
        )


# --- closing as completed or partial ------------------------------------------------------------------


def test_partial_refunds_charge_times_undelivered_over_units_exactly_once(make_order):
    owner = member("Owner")
    order = make_order(S.IN_PROGRESS, units=300, charge="2.5000")
    before = balance(order)

    refund = order_finish(order=order, undelivered=100, actor=owner, note="provider shows 100 left")

    assert refund == to_money(D("2.5000") * 100 / 300) == D("0.8333")
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == (S.PARTIAL, 100, D("0.8333"))
    assert balance(order) == before + D("0.8333")
    # Twice: the table forbids leaving Partial, and the refund is not given again.
    with pytest.raises(TransitionRefused):
        order_finish(order=order, undelivered=100, actor=owner)
    with pytest.raises(TransitionRefused):
        order_cancel_placed(order=order, actor=owner, provider_checked=True)
    assert refunds(order) == [D("0.8333")] and balance(order) == before + D("0.8333")
    (row,) = AuditEntry.objects.filter(action="orders.order.finish")
    assert row.actor == owner and row.target_id == str(order.pk)
    assert row.changes["status"] == [S.IN_PROGRESS, S.PARTIAL] and row.reason == "provider shows 100 left"
    assert "Partial: 100 of 300 not delivered." in public_lines(order)
    no_provider_in(order)


def test_completed_refunds_nothing_and_all_undelivered_is_canceled_in_full(make_order):
    owner = member("Owner")
    done, none = make_order(S.PENDING), make_order(S.PROCESSING, charge="1.0000")
    before = balance(done)

    assert order_finish(order=done, undelivered=0, actor=owner) == 0
    assert order_finish(order=none, undelivered=300, actor=owner) == D("1.0000")

    done.refresh_from_db(), none.refresh_from_db()
    assert (done.status, done.refunded, none.status, none.refunded) == (S.COMPLETED, 0, S.CANCELED, D(1))
    assert balance(done) == before + D(1) and refunds(done) == []


def test_closing_is_refused_where_the_order_is_not_open_at_the_provider(make_order):
    owner = member("Owner")
    for status in (S.QUEUED, S.NEEDS_REVIEW, S.COMPLETED, S.FAILED):
        order = make_order(status)
        with pytest.raises(OrderRefused):
            order_finish(order=order, undelivered=0, actor=owner)
        order.refresh_from_db()
        assert order.status == status and order.refunded == 0
    order = make_order(S.IN_PROGRESS)
    with pytest.raises(ValidationError):
        order_finish(order=order, undelivered=301, actor=owner)
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS and not AuditEntry.objects.filter(action="orders.order.finish")


# --- cancel and refund an order placed upstream ---------------------------------------------------------


def test_cancel_placed_needs_the_provider_checked_and_refunds_the_remains_once(make_order):
    owner = member("Owner")
    order = make_order(S.IN_PROGRESS, units=300, charge="2.5000", remains=120)
    before = balance(order)

    with pytest.raises(ValidationError):
        order_cancel_placed(order=order, actor=owner, provider_checked=False)
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS and order.refunded == 0

    assert order_cancel_placed(order=order, actor=owner, provider_checked=True) == D("1.0000")
    with pytest.raises(TransitionRefused):
        order_cancel_placed(order=order, actor=owner, provider_checked=True)
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.CANCELED, D(1))
    assert refunds(order) == [D(1)] and balance(order) == before + D(1)
    assert (
        AuditEntry.objects.filter(action="orders.order.cancel_placed", target_id=str(order.pk)).count() == 1
    )
    no_provider_in(order)


def test_cancel_placed_without_remains_refunds_all(make_order):
    order = make_order(S.PENDING, charge="0.3000")
    assert order_cancel_placed(order=order, actor=member("Owner"), provider_checked=True) == D("0.3000")


# --- figures by hand ------------------------------------------------------------------------------------


def test_set_figures_changes_only_the_figures_and_is_audited(make_order):
    support = member("Support")
    order = make_order(S.IN_PROGRESS, remains=300)
    before = balance(order)

    order_set_figures(order=order, actor=support, start_count=1500, note="seen on the page")
    order_set_figures(order=order, actor=support, remains=40)

    order.refresh_from_db()
    assert (order.status, order.start_count, order.remains, order.refunded) == (S.IN_PROGRESS, 1500, 40, 0)
    assert balance(order) == before
    rows = AuditEntry.objects.filter(action="orders.order.set_figures").order_by("pk")
    assert [row.changes for row in rows] == [{"start_count": [None, 1500]}, {"remains": [300, 40]}]
    no_provider_in(order)
    with pytest.raises(ValidationError):
        order_set_figures(order=order, actor=support, remains=301)
    with pytest.raises(OrderRefused):
        order_set_figures(order=make_order(S.COMPLETED), actor=support, remains=0)


# --- resending to another route -------------------------------------------------------------------------


@pytest.fixture
def second_route(make_order):
    service = make_order.service
    other = ProviderService.objects.create(
        provider=service.provider_service.provider,
        remote_id="second",
        name="Second upstream",
        type="Default",
        category="Instagram",
        rate=D("1.2"),
        min_quantity=10,
        max_quantity=10_000,
    )
    ServiceRoute.objects.create(service=service, provider_service=other, position=1)
    return other


def test_resend_to_needs_the_check_for_an_unknown_outcome(make_order, second_route):
    owner = member("Owner")
    order = make_order(S.NEEDS_REVIEW)
    was = order.provider_service

    with pytest.raises(ValidationError):
        order_resend_to(order=order, provider_service=second_route, actor=owner)
    order.refresh_from_db()
    assert order.status == S.NEEDS_REVIEW and order.provider_service == was

    order_resend_to(order=order, provider_service=second_route, actor=owner, provider_checked=True)
    order.refresh_from_db()
    assert (order.status, order.provider_service) == (S.QUEUED, second_route)
    assert order.route_outcomes == {str(was.pk): "refused"}  # the old route never again for this order
    (row,) = AuditEntry.objects.filter(action="orders.order.resend_to")
    assert row.changes["provider_service"] == [str(was), str(second_route)]
    no_provider_in(order)


def test_resend_to_refuses_a_placed_order_and_a_provider_service_off_the_routes(make_order, second_route):
    owner = member("Owner")
    placed = make_order(S.IN_PROGRESS)
    with pytest.raises(OrderRefused):
        order_resend_to(order=placed, provider_service=second_route, actor=owner, provider_checked=True)
    queued = make_order(S.QUEUED)
    with pytest.raises(ValidationError):  # where it is already is no other route
        order_resend_to(order=queued, provider_service=queued.provider_service, actor=owner)
    order_resend_to(order=queued, provider_service=second_route, actor=owner)  # unsent: no check needed
    queued.refresh_from_db()
    assert (queued.status, queued.provider_service) == (S.QUEUED, second_route)


# --- through the admin, by role -------------------------------------------------------------------------


def test_the_admin_asks_for_the_check_before_canceling_a_placed_order(client, make_order):
    order = make_order(S.IN_PROGRESS)
    client.force_login(member("Owner"))
    asked = {"action": "cancel_placed", "_selected_action": [order.pk], "confirmed": "1"}

    unchecked = client.post("/admin/orders/order/", asked)
    assert unchecked.status_code == 200 and b"This field is required" in unchecked.content
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS

    done = client.post("/admin/orders/order/", {**asked, "checked": "on"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.CANCELED, D("2.5000"))


def test_the_admin_closes_a_partial_order_with_the_refund(client, make_order):
    order = make_order(S.IN_PROGRESS, units=300, charge="2.5000")
    client.force_login(member("Owner"))
    form = client.post("/admin/orders/order/", {"action": "finish", "_selected_action": [order.pk]})
    assert b"charged 2.5000" in form.content  # the form lists what the refund is computed from
    client.post(
        "/admin/orders/order/",
        {"action": "finish", "_selected_action": [order.pk], "confirmed": "1", "undelivered": "100"},
    )
    order.refresh_from_db()
    assert (order.status, order.refunded) == (S.PARTIAL, D("0.8333"))


@pytest.mark.parametrize("action", ["finish", "cancel_placed", "resend_to"])
def test_support_cannot_refund_by_hand_nor_choose_a_provider_service(
    client, make_order, second_route, action
):
    order = make_order(S.NEEDS_REVIEW if action == "resend_to" else S.IN_PROGRESS)
    client.force_login(member("Support"))
    data = {"undelivered": "300", "checked": "on", "provider_service": second_route.pk}

    client.post(
        "/admin/orders/order/",
        {"action": action, "_selected_action": [order.pk], "confirmed": "1", **data},
    )

    order.refresh_from_db()
    assert order.status in (S.NEEDS_REVIEW, S.IN_PROGRESS) and order.refunded == 0
    assert not AuditEntry.objects.filter(action__startswith="orders.order.").exists()


def test_support_sets_figures_through_the_admin(client, make_order):
    order = make_order(S.IN_PROGRESS)
    client.force_login(member("Support"))
    client.post(
        "/admin/orders/order/",
        {"action": "set_figures", "_selected_action": [order.pk], "confirmed": "1", "start_count": "77"},
    )
    order.refresh_from_db()
    assert order.start_count == 77
