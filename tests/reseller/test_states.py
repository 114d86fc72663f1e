"""The status core: each model's table is the one source every face derives from, and ``transition`` is the
only way a row moves — refusing every move its table does not list."""

import itertools
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from api.filters import OrderFilter
from billing.models import TopUp, TopUpEvent
from billing.services import account_for, balance_deposit
from catalogue.models import Service
from console.selectors import orders_by_status
from orders.models import Order, OrderEvent, Refill
from orders.services import order_place
from panels.normalize import OrderStatus, RefillStatus
from reseller.states import (
    StateTable,
    TransitionRefused,
    public_status_changed,
    transition,
    transition_many,
)
from support.models import Ticket, TicketEvent

TABLES = [Order.states, Refill.states, TopUp.states, Service.states, Ticket.states]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.choices.__qualname__)
def test_each_table_covers_its_states_and_its_final_states_lead_nowhere_new(table):
    assert set(table.transitions) == set(table.choices.values)
    assert table.open | table.final == set(table.choices.values)
    assert not table.open & table.final
    for state in table.final:  # a final state only moves where money already moved (a late gateway "paid")
        assert table.transitions[state] <= table.final


def test_a_table_with_a_gap_is_an_error_when_the_module_loads():
    with pytest.raises(ValueError, match="transitions must list every state"):
        StateTable(TopUp.Status, transitions={}, final=set(), public={s: s for s in TopUp.Status})
    with pytest.raises(ValueError, match="public must spell every state"):
        StateTable(
            TopUp.Status, transitions={s: set() for s in TopUp.Status}, final=set(TopUp.Status), public={}
        )


def test_customer_tabs_rest_filters_and_public_statuses_are_one_grouping(signed_in_client):
    groups = Order.states.public_groups()
    # API v2's canonical spellings, each once, in API v2's order.
    assert [group.label for group in groups] == [
        OrderStatus.PENDING,
        OrderStatus.IN_PROGRESS,
        OrderStatus.PROCESSING,
        OrderStatus.COMPLETED,
        OrderStatus.PARTIAL,
        OrderStatus.CANCELED,
    ]
    # Every state in exactly one group, and that group is the status the APIs answer for it.
    assert sorted(itertools.chain.from_iterable(group.statuses for group in groups)) == sorted(Order.Status)
    for group in groups:
        for state in group.statuses:
            assert Order.states.public[state] == group.label
    # The REST filter offers exactly these groups.
    assert [key for key, _label in OrderFilter.base_filters["status"].extra["choices"]] == [
        group.key for group in groups
    ]
    # The storefront's tabs are the same groups.
    page = signed_in_client.get("/orders/")
    assert [key for key, _label in page.context["tabs"]] == [group.key for group in groups]
    # The console counts every state, under the operator's own words.
    assert [label for label, _count in orders_by_status()] == [
        label for _value, label in Order.Status.choices
    ]


def test_refill_and_top_up_public_spellings():
    assert {str(spelling) for spelling in Refill.states.public.values()} == {
        RefillStatus.PENDING,
        RefillStatus.IN_PROGRESS,
        RefillStatus.COMPLETED,
        RefillStatus.REJECTED,
    }
    assert [group.label for group in TopUp.states.public_groups()] == [
        "Waiting",
        "Credited",
        "Rejected",
        "Canceled",
        "Taken back",
    ]


def test_the_one_open_refill_constraint_is_the_tables_open_states():
    (constraint,) = Refill._meta.constraints
    (lookup, final) = constraint.condition.children[0]
    assert lookup == "status__in" and set(final) == Refill.states.final


# --- every move outside a table is refused, every move in it is made with its event -----------------------


@pytest.fixture
def customer_with_funds(db):
    user = User.objects.create_user("erin")
    balance_deposit(account=account_for(user), amount=Decimal("1000"))
    return user


@pytest.fixture
def place(on_sale, customer_with_funds):
    """Place an order of a Default service (queued; nothing is sent)."""
    service = on_sale()

    def make() -> Order:
        data = {"link": "https://x.example/p", "quantity": "100"}
        return order_place(user=customer_with_funds, service=service, data=data)

    return make


@pytest.fixture
def an_order(place):
    return place()


@pytest.fixture
def signed_in_client(client, customer_with_funds):
    client.force_login(customer_with_funds)
    return client


def _rows_in_each_state(model, make):
    """One row per state of ``model``: built, then set to the state directly (the table under test is not
    trusted to get it there)."""
    for state in model.Status:
        row = make()
        model.objects.filter(pk=row.pk).update(status=state)
        row.refresh_from_db()
        yield row


def _check_table(model, rows, events):
    table = model.states
    for source, row in zip(model.Status, rows, strict=True):
        for target in model.Status:
            row.refresh_from_db()
            if row.status != source:  # moved by an allowed transition just before: put it back
                model.objects.filter(pk=row.pk).update(status=source)
                row.refresh_from_db()
            before = events()
            if table.allows(source, target):
                transition(row, target, message="test")
                row.refresh_from_db()
                assert row.status == target
                assert events() == before + 1, f"{source} → {target} wrote no event"
            else:
                with pytest.raises(TransitionRefused):
                    transition(row, target, message="test")
                row.refresh_from_db()
                assert row.status == source, f"{source} → {target} was applied"
                assert events() == before


def test_orders_move_only_as_their_table_says(place):
    _check_table(Order, list(_rows_in_each_state(Order, place)), OrderEvent.objects.count)


def test_refills_move_only_as_their_table_says(place):
    # Each on its own order: one open refill per order.
    rows = list(_rows_in_each_state(Refill, lambda: Refill.objects.create(order=place())))
    _check_table(Refill, rows, OrderEvent.objects.count)


@pytest.mark.django_db
def test_top_ups_move_only_as_their_table_says(customer_with_funds):
    def make():
        return TopUp.objects.create(user=customer_with_funds, method=TopUp.Method.MANUAL, amount=Decimal(5))

    _check_table(TopUp, list(_rows_in_each_state(TopUp, make)), TopUpEvent.objects.count)


@pytest.mark.django_db
def test_support_tickets_move_only_as_their_table_says(customer_with_funds):
    def make():
        return Ticket.objects.create(user=customer_with_funds, kind=Ticket.Kind.OTHER, subject="Help")

    _check_table(Ticket, list(_rows_in_each_state(Ticket, make)), TicketEvent.objects.count)


def test_storefront_services_move_in_bulk_only_as_their_table_says(on_sale):
    service = on_sale()
    rows = Service.objects.filter(pk=service.pk)
    for source, target in itertools.product(Service.Status, Service.Status):
        rows.update(status=source)
        moved = transition_many(rows, target)
        assert moved == Service.states.allows(source, target), f"{source} → {target}"
        assert rows.get().status == (target if moved else source)
    # Only an active service is on sale, in every face (they all ask catalogue.orderable).
    assert Service.states.group("on_sale") == {Service.Status.ACTIVE}


# --- the primitive itself ---------------------------------------------------------------------------------


def test_a_misspelled_field_is_an_error_and_nothing_moves(an_order):
    with pytest.raises(TypeError, match="no field wait_reasn"):
        transition(an_order, Order.Status.WAITING, message="typo", changes={"wait_reasn": "x"})
    an_order.refresh_from_db()
    assert an_order.status == Order.Status.QUEUED


def test_a_row_that_moved_since_it_was_read_is_refused(an_order):
    stale = Order.objects.get(pk=an_order.pk)
    transition(an_order, Order.Status.SENDING, message="claimed by one worker")
    with pytest.raises(TransitionRefused, match="no longer Queued"):
        transition(stale, Order.Status.SENDING, message="claimed by another")
    assert OrderEvent.objects.filter(order=an_order, message__startswith="claimed").count() == 1


def test_the_event_names_the_actor_and_the_customer_sees_the_status_they_see(an_order):
    operator = User.objects.create_superuser("boss", "boss@example.com", "pw")
    transition(an_order, Order.Status.CANCELED, message="operator's words", actor=operator)
    event = OrderEvent.objects.filter(order=an_order).last()
    assert (event.actor, event.from_status, event.to_status) == (operator, "queued", "canceled")
    assert event.message == "operator's words" and event.public_message == "Canceled"
    an_order.refresh_from_db()
    assert an_order.finished_at is not None


def test_a_move_customers_see_is_announced_once_and_a_move_they_do_not_see_is_not(an_order):
    heard = []

    def receiver(sender, changes, **kwargs):
        heard.extend((sender, change.instance.pk, change.before, change.after) for change in changes)

    public_status_changed.connect(receiver)
    try:
        transition(an_order, Order.Status.SENDING, message="claimed")  # Pending → Pending: not announced
        transition(an_order, Order.Status.PENDING, message="accepted")
        transition(an_order, Order.Status.IN_PROGRESS, message="started")
        with pytest.raises(TransitionRefused):
            transition(an_order, Order.Status.QUEUED, message="not in the table")
    finally:
        public_status_changed.disconnect(receiver)
    assert heard == [(Order, an_order.pk, OrderStatus.PENDING, OrderStatus.IN_PROGRESS)]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.choices.__qualname__)
def test_the_architecture_document_shows_each_table_as_it_is(table):
    document = (settings.BASE_DIR / "docs" / "architecture.md").read_text()
    diagram = f"```mermaid\n{table.mermaid()}\n```"
    assert diagram in document, (
        f"docs/architecture.md: replace {table.choices.__qualname__}'s diagram with\n{diagram}"
    )
