"""Routing (issue 17): a storefront service sold from several provider services. An order goes to the first
route that can take it and to the next only where nothing was placed; an unknown outcome never moves; the
customer is charged once whatever the attempts. Against two simulators over real HTTP."""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import account_for
from catalogue.models import Service, ServiceRoute
from catalogue.publishing import service_move, services_publish
from orders.dispatch import orders_dispatch
from orders.models import Order
from orders.services import order_place
from panels.catalogue import catalogue_sync
from panels.health import Breaker, breaker_state, provider_mark_down, provider_mark_up
from panels.models import Provider, ProviderCall, ProviderService
from panels.services import balance_sync

S = Order.Status
FOLLOWERS = "1"  # the smmcloud seed's Default service "Instagram Followers", 0.90 per 1000, 50 to 10,000


@dataclass
class Routed:
    """A storefront service sold from the primary simulator's followers, with the secondary's as route 2."""

    primary: object  # SimulatorServer
    secondary: object
    first: Provider
    second: Provider
    service: Service
    customer: User

    def place(self, link="https://x.example/post", quantity=100) -> Order:
        return order_place(
            user=self.customer, service=self.service, data={"link": link, "quantity": str(quantity)}
        )

    def route(self, provider: Provider) -> ServiceRoute:
        return ServiceRoute.objects.get(service=self.service, provider_service__provider=provider)

    def upstream(self, provider: Provider) -> ProviderService:
        return ProviderService.objects.get(provider=provider, remote_id=FOLLOWERS)

    def placed_upstream(self) -> Counter:
        """Every order the simulators hold, by link, across both providers: none may be there twice."""
        return Counter(
            order.link for server in (self.primary, self.secondary) for order in server.sim.orders()
        )


@pytest.fixture
def routed(make_simulator, make_provider, customer):
    servers, providers = [], []
    for name in ("primary", "secondary"):
        server = make_simulator("smmcloud")
        provider = make_provider(server, name=name)
        balance_sync(provider=provider)
        catalogue_sync(provider=provider)
        servers.append(server)
        providers.append(provider)
    services_publish(provider=providers[0], percent=D(50))
    service = Service.objects.get(
        provider_service__provider=providers[0], provider_service__remote_id=FOLLOWERS
    )
    secondary_followers = ProviderService.objects.get(provider=providers[1], remote_id=FOLLOWERS)
    ServiceRoute.objects.create(service=service, provider_service=secondary_followers, position=1)
    return Routed(*servers, *providers, service, customer)


def send(order: Order, attempts: int = 4) -> Order:
    """Send ``order`` as its dispatchers would, following it from route to route, until it is no longer
    due (sent, waiting for a retry, or in review)."""
    for _ in range(attempts):
        order.refresh_from_db()
        if order.status not in (S.QUEUED, S.WAITING) or order.next_attempt_at > timezone.now():
            break
        orders_dispatch(provider=order.provider)
    order.refresh_from_db()
    return order


def refuse_connections(provider: Provider, port: int) -> str:
    """Point ``provider`` at a port where nothing listens (every call: nothing sent); returns its URL."""
    real = provider.api_url
    Provider.objects.filter(pk=provider.pk).update(api_url=f"http://127.0.0.1:{port}/api/v2")
    return real


def charged_once(world: Routed, order: Order) -> None:
    """One charge for ``order``, nothing given back, whatever the attempts (the customer's other orders
    charged once each too)."""
    entries = LedgerEntry.objects.filter(reference=f"order {order.pk}")
    assert list(entries.values_list("kind", flat=True)) == [LedgerEntry.Kind.CHARGE]
    charges = sum(Order.objects.filter(user=world.customer).values_list("charge", flat=True))
    assert account_for(world.customer).balance == D(100) - charges


def history_keeps_providers_from_the_customer(order: Order) -> None:
    for public in order.events.exclude(public_message="").values_list("public_message", flat=True):
        assert "primary" not in public and "secondary" not in public


# --- failover where nothing was placed --------------------------------------------------------------------


def _funds_short(world, port):
    world.primary.sim.set_balance(D(0))  # our balance upstream, unknown here: "Not enough funds"


def _service_gone(world, port):
    world.primary.sim.remove_service(FOLLOWERS)  # "Incorrect service ID": refused for good


def _unreachable(world, port):
    refuse_connections(world.first, port)


def _active_link(world, port):
    earlier = world.place(link="https://x.example/same")  # the primary works on this link already
    assert send(earlier).provider == world.first


AFTER_A_CALL = {
    "not enough funds": (_funds_short, "Not enough funds"),
    "incorrect service": (_service_gone, "Incorrect service ID"),
    "connection refused": (_unreachable, "nothing was sent"),
    "active order with this link": (_active_link, "active order with this link"),
}


@pytest.mark.parametrize("outcome", AFTER_A_CALL)
def test_an_order_the_primary_did_not_place_goes_to_the_secondary(routed, unused_tcp_port, outcome):
    fault, said = AFTER_A_CALL[outcome]
    fault(routed, unused_tcp_port)
    order = routed.place(link="https://x.example/same")
    assert order.provider == routed.first  # queued at the first route

    order = send(order)

    assert (order.status, order.provider, order.provider_service) == (
        S.PENDING,
        routed.second,
        routed.upstream(routed.second),
    )
    assert order.provider_order_id == routed.secondary.sim.orders()[-1].id
    moved = order.events.get(message__contains="Routed to")
    assert said in moved.message and "primary" in moved.message and moved.public_message == ""
    history_keeps_providers_from_the_customer(order)
    charged_once(routed, order)
    assert order.refunded == 0 and order.route_outcomes == {
        str(routed.upstream(routed.first).pk): "refused" if outcome == "incorrect service" else "later"
    }
    # The secondary placed it, the primary did not (the earlier order of that link is the primary's own).
    assert Counter(o.link for o in routed.secondary.sim.orders()) == {"https://x.example/same": 1}


def _disabled(world):
    Provider.objects.filter(pk=world.first.pk).update(enabled=False)


def _vanished(world):
    ProviderService.objects.filter(pk=world.upstream(world.first).pk).update(active=False)


def _marked_down(world):
    provider_mark_down(provider=world.first, actor=None, reason="maintenance announced")


def _balance_short(world):
    Provider.objects.filter(pk=world.first.pk).update(balance=D("0.01"))  # 100 followers cost 0.09 there


def _route_off(world):
    ServiceRoute.objects.filter(pk=world.route(world.first).pk).update(enabled=False)


def _too_many_for_it(world):
    ServiceRoute.objects.filter(pk=world.route(world.first).pk).update(max_quantity=99)


BEFORE_ANY_CALL = {
    "provider disabled": (_disabled, "disabled"),
    "service vanished": (_vanished, "no longer listed"),
    "marked down by hand": (_marked_down, "marked down"),
    "balance known short": (_balance_short, "balance"),
    "route disabled": (_route_off, "route"),
    "quantity over the route's max": (_too_many_for_it, "takes 50 to 99"),
}


@pytest.mark.parametrize("reason", BEFORE_ANY_CALL)
def test_an_order_the_primary_cannot_take_goes_to_the_secondary_without_a_call(routed, reason):
    order = routed.place()
    change, said = BEFORE_ANY_CALL[reason]
    change(routed)  # after placing: the order is queued at the primary already

    order = send(order)

    assert (order.status, order.provider) == (S.PENDING, routed.second)
    assert not ProviderCall.objects.filter(provider=routed.first, action="add").exists()
    assert said in order.events.get(message__contains="Routed to").message
    charged_once(routed, order)
    assert routed.placed_upstream() == {order.link: 1}
    # Placed while the primary cannot take it, an order is queued at the secondary from the start.
    assert routed.place(link="https://x.example/later").provider == routed.second


# --- never on an unknown outcome --------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["http_500", "truncated", "empty", "accept_then_drop", "html"])
def test_an_unknown_outcome_never_goes_to_another_route(routed, fault):
    routed.primary.sim.set_fault(fault, action="add")
    orders = [routed.place(link=f"https://x.example/{n}") for n in range(3)]

    for order in orders:
        order = send(order)
        assert (order.status, order.provider) == (S.NEEDS_REVIEW, routed.first)
        assert order.refunded == 0
        charged_once_each = LedgerEntry.objects.filter(reference=f"order {order.pk}").count()
        assert charged_once_each == 1

    assert routed.secondary.sim.orders() == []
    assert all(count == 1 for count in routed.placed_upstream().values())
    assert ProviderCall.objects.filter(provider=routed.first, action="add").count() == 3  # never re-sent


# --- no route left ------------------------------------------------------------------------------------------


def test_refused_for_good_by_every_route_it_fails_and_is_refunded_once(routed):
    routed.primary.sim.remove_service(FOLLOWERS)
    routed.secondary.sim.remove_service(FOLLOWERS)
    order = routed.place()

    order = send(order)
    assert send(order).status == S.FAILED

    assert order.refunded == order.charge
    assert (
        LedgerEntry.objects.filter(reference=f"order {order.pk}", kind=LedgerEntry.Kind.REFUND).count() == 1
    )
    assert account_for(routed.customer).balance == D(100)
    assert routed.placed_upstream() == {}


def test_unreachable_everywhere_it_waits_and_starts_again_from_the_first_route(routed, unused_tcp_port):
    real = refuse_connections(routed.first, unused_tcp_port)
    refuse_connections(routed.second, unused_tcp_port)
    order = send(routed.place())

    assert (order.status, order.provider) == (S.WAITING, routed.second)  # as with one route: not failed
    assert order.route_outcomes == {}  # the round is over: every route is tried again
    Provider.objects.filter(pk=routed.first.pk).update(api_url=real)  # the primary is back
    Order.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now())  # its retry is due

    order = send(order)

    assert (order.status, order.provider) == (S.PENDING, routed.first)
    charged_once(routed, order)


def test_a_refusal_for_good_waits_for_a_route_that_may_take_it_later(routed, unused_tcp_port):
    routed.primary.sim.remove_service(FOLLOWERS)  # the primary refuses it for good
    real = refuse_connections(routed.second, unused_tcp_port)  # the secondary cannot be reached now
    order = send(routed.place())
    assert order.status == S.WAITING and order.refunded == 0

    Provider.objects.filter(pk=routed.second.pk).update(api_url=real)
    Order.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now())
    order = send(order)

    assert (order.status, order.provider) == (S.PENDING, routed.second)
    assert ProviderCall.objects.filter(provider=routed.first, action="add").count() == 1  # never asked again


def test_refused_for_good_with_no_route_left_it_fails_and_is_refunded_once(routed, unused_tcp_port):
    routed.primary.sim.remove_service(FOLLOWERS)
    refuse_connections(routed.second, unused_tcp_port)
    order = send(routed.place())
    assert order.status == S.WAITING  # for the secondary, which may take it later
    ServiceRoute.objects.filter(pk=routed.route(routed.second).pk).update(enabled=False)  # it never will
    Order.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now())

    order = send(order)

    assert (order.status, order.refunded) == (S.FAILED, order.charge)
    assert account_for(routed.customer).balance == D(100)
    assert (
        LedgerEntry.objects.filter(reference=f"order {order.pk}", kind=LedgerEntry.Kind.REFUND).count() == 1
    )
    assert routed.placed_upstream() == {}


# --- cheapest first ------------------------------------------------------------------------------------------


def test_cheapest_first_follows_a_repricing_and_the_customer_pays_the_same(routed):
    Service.objects.filter(pk=routed.service.pk).update(routing=Service.Routing.CHEAPEST)
    routed.service.refresh_from_db()
    routed.secondary.sim.set_service(FOLLOWERS, rate="0.80")  # cheaper than the primary's 0.90
    catalogue_sync(provider=routed.second)

    cheap = send(routed.place(link="https://x.example/1"))
    assert cheap.provider == routed.second

    routed.secondary.sim.set_service(FOLLOWERS, rate="1.10")  # repriced above the primary
    catalogue_sync(provider=routed.second)
    dearer = send(routed.place(link="https://x.example/2"))

    assert dearer.provider == routed.first
    assert cheap.charge == dearer.charge == D("0.135")  # 1.35 per 1000, whatever the route
    routed.service.refresh_from_db()
    assert routed.service.price == D("1.35")


def test_moving_the_service_moves_its_primary_route(routed):
    other = ProviderService.objects.get(provider=routed.first, remote_id="2")  # Likes, Default too
    service_move(service=routed.service, provider_service=other, allow_loss=True)

    routes = list(routed.service.routes.values_list("provider_service", flat=True))
    assert routes == [other.pk, routed.upstream(routed.second).pk]


# --- the circuit breaker ----------------------------------------------------------------------------------


def test_the_breaker_opens_after_failures_and_closes_after_the_cool_off(routed, unused_tcp_port):
    real = refuse_connections(routed.first, unused_tcp_port)
    first, second = (
        send(routed.place(link="https://x.example/1")),
        send(routed.place(link="https://x.example/2")),
    )
    assert first.provider == second.provider == routed.second  # each moved after its own call failed
    routed.first.refresh_from_db()
    assert breaker_state(routed.first) == Breaker.DOWN  # 6 calls refused, 3 a send
    assert "6 of 8 calls failed" in routed.first.down_reason  # and its balance and catalogue syncs

    calls = ProviderCall.objects.filter(provider=routed.first).count()
    third = routed.place(link="https://x.example/3")
    assert third.provider == routed.second  # routed past it from the start: no call to it
    assert send(third).status == S.PENDING
    assert ProviderCall.objects.filter(provider=routed.first).count() == calls

    # The cool-off ends while the primary is still unreachable: the trial fails, another cool-off.
    Provider.objects.filter(pk=routed.first.pk).update(down_until=timezone.now() - timedelta(seconds=1))
    trial = send(routed.place(link="https://x.example/4"))
    assert trial.provider == routed.second
    routed.first.refresh_from_db()
    assert breaker_state(routed.first) == Breaker.DOWN and "trial" in routed.first.down_reason

    # Back, and the next cool-off over: the trial order is accepted and the breaker closes.
    Provider.objects.filter(pk=routed.first.pk).update(
        api_url=real, down_until=timezone.now() - timedelta(seconds=1)
    )
    back = send(routed.place(link="https://x.example/5"))
    assert (back.status, back.provider) == (S.PENDING, routed.first)
    routed.first.refresh_from_db()
    assert breaker_state(routed.first) == Breaker.UP and routed.first.up_since is not None
    assert routed.placed_upstream() == {f"https://x.example/{n}": 1 for n in range(1, 6)}


def test_on_trial_only_one_order_is_sent_to_it(routed):
    Provider.objects.filter(pk=routed.first.pk).update(
        down_until=timezone.now() - timedelta(seconds=1), down_reason="6 of 6 calls failed"
    )
    orders = [routed.place(link=f"https://x.example/{n}") for n in range(3)]
    assert {order.provider for order in orders} == {routed.first}  # on trial is not down

    orders_dispatch(provider=routed.first)

    sent = Counter(Order.objects.get(pk=order.pk).provider.name for order in orders)
    assert sent == {"primary": 1, "secondary": 2}  # the others went on: one trial at a time
    routed.first.refresh_from_db()
    assert breaker_state(routed.first) == Breaker.UP  # its answer closed the breaker


def test_orders_with_no_other_route_wait_while_their_provider_is_down(routed, unused_tcp_port):
    routed.route(routed.second).delete()
    provider_mark_down(provider=routed.first, actor=None, reason="")
    order = send(routed.place())

    assert order.status == S.WAITING and "marked down" in order.wait_reason and order.refunded == 0
    provider_mark_up(provider=routed.first, actor=None)
    Order.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now())
    assert send(order).status == S.PENDING


# --- the fault test --------------------------------------------------------------------------------------


def test_lost_answers_wait_for_review_then_refusals_move_orders_within_one_retry(routed, unused_tcp_port):
    """The primary first loses its answers (the orders may exist there): none moves, each waits for an
    operator. Then it goes down with connection refusals: an order moves to the secondary at its first
    failed attempt (the client's own retries of a refused connection spent) and is placed there by the next
    send; the breaker opens on those failures and later orders skip the primary altogether."""
    routed.primary.sim.set_fault("http_500", action="add", times=3)
    lost = [send(routed.place(link=f"https://x.example/lost{n}")) for n in range(3)]
    assert {(order.status, order.provider) for order in lost} == {(S.NEEDS_REVIEW, routed.first)}

    refuse_connections(routed.first, unused_tcp_port)
    assert breaker_state(Provider.objects.get(pk=routed.first.pk)) == Breaker.UP  # 3 lost of 5 calls
    moved = []
    for n in range(3):
        order = routed.place(link=f"https://x.example/down{n}")
        # The first goes to the primary; its refused attempts open the breaker, so the later ones are
        # queued at the secondary from the start.
        assert order.provider == (routed.first if n == 0 else routed.second)
        orders_dispatch(provider=routed.first)  # one attempt at the primary: refused, nothing sent
        order.refresh_from_db()
        assert (order.status, order.provider) == (S.QUEUED, routed.second)  # due now, at the secondary
        orders_dispatch(provider=routed.second)  # the next send places it
        order.refresh_from_db()
        moved.append(order)
    adds = ProviderCall.objects.filter(provider=routed.first, action="add")
    assert adds.count() == 3 + 3  # the 3 lost, and the first refused order's 3 tries

    assert {(order.status, order.provider) for order in moved} == {(S.PENDING, routed.second)}
    assert {order.status for order in Order.objects.filter(pk__in=[o.pk for o in lost])} == {S.NEEDS_REVIEW}
    placed = routed.placed_upstream()
    assert all(count == 1 for count in placed.values())  # nothing placed twice, across both providers
    assert not any(link in {o.link for o in routed.secondary.sim.orders()} for link in [o.link for o in lost])
    assert sum(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).values_list("amount", flat=True)) == (
        -6 * moved[0].charge
    )


def test_a_service_whose_primary_vanishes_stays_on_sale_through_its_other_route(routed):
    routed.primary.sim.remove_service(FOLLOWERS)
    catalogue_sync(provider=routed.first)  # the primary's provider service vanished

    routed.service.refresh_from_db()
    assert routed.service.status == Service.Status.ACTIVE and routed.service.price == D("1.35")
    order = send(routed.place())
    assert (order.status, order.provider) == (S.PENDING, routed.second)

    routed.route(routed.second).delete()  # with no other route, a vanished primary pauses it, as ever
    catalogue_sync(provider=routed.first)
    routed.service.refresh_from_db()
    assert routed.service.status == Service.Status.PAUSED
