"""The API v2 client against the simulator over real HTTP: every action, order type, quirk and fault."""

from decimal import Decimal

import pytest

from panels.client import (
    ItemError,
    ProviderClient,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    RemoteOrderStatus,
    RemoteRefillStatus,
)
from panels.normalize import OrderStatus, RefillStatus
from tests.orders.support import FIELDS_BY_TYPE, LINE_FIELDS


def fields_for(service, index=0):
    fields = dict(FIELDS_BY_TYPE[service.type])
    if "link" in fields:
        fields["link"] = f"{fields['link']}?n={index}"  # distinct links: no "active order" refusal
    if "quantity" in fields:
        fields["quantity"] = max(service.min, fields["quantity"])
    if service.type in LINE_FIELDS:  # one comment (or username) per line, both line endings
        lines = [f"Line {n}" for n in range(max(service.min, 3))]
        fields[LINE_FIELDS[service.type]] = "\r\n".join(lines[:2]) + "\n" + "\n".join(lines[2:])
    if service.type == "Subscriptions":
        fields["min"], fields["max"] = service.min, service.min + 10
        fields["username"] = f"someone{index}"
    return fields


def by_type(client):
    return {service.type: service for service in client.services().services}


@pytest.mark.parametrize("dialect", ["smmcloud", "smmcool", "full"])
def test_services_and_balance(make_simulator, make_client, dialect):
    client = make_client(make_simulator(dialect))

    catalogue = client.services()
    balance = client.balance()

    assert catalogue.invalid == []
    assert all(isinstance(s.rate, Decimal) and isinstance(s.remote_id, str) for s in catalogue.services)
    assert all(s.min <= s.max for s in catalogue.services)
    assert balance.currency == "USD" and isinstance(balance.amount, Decimal)


@pytest.mark.parametrize(
    ("dialect", "types"),
    [
        (
            "smmcloud",
            {
                "Default",
                "Package",
                "Custom Comments",
                "Subscriptions",
                "Comment Likes",
                "Comment Replies",
                "Invites from Groups",
            },
        ),
        ("smmcool", {"Default", "Package", "Custom Comments", "Mentions User Followers", "Poll"}),
        ("full", set(FIELDS_BY_TYPE)),
    ],
)
def test_every_order_type_is_placed_with_its_fields(make_simulator, make_client, dialect, types):
    server = make_simulator(dialect)
    client = make_client(server)
    services = by_type(client)
    assert set(services) >= types

    for index, type_name in enumerate(sorted(types)):
        service = services[type_name]
        fields = fields_for(service, index)
        order_id = client.add(service.remote_id, **fields)

        assert isinstance(order_id, str) and order_id
        upstream = server.sim.order(order_id)
        assert str(upstream.service_id) == service.remote_id
        for name, value in fields.items():
            assert str(upstream.fields[name]) == str(value), (type_name, name)
        status = client.status(order_id)
        expected = OrderStatus.ACTIVE if type_name == "Subscriptions" else OrderStatus.PENDING
        assert status.status is expected
        assert status.currency == "USD" and isinstance(status.charge, Decimal)
    assert len(server.sim.orders()) == len(types)


def test_drip_feed_sends_runs_and_interval(simulator, make_client):
    client = make_client(simulator)
    # As in the seed documents, the services answer says nothing about drip-feed; Default services take it.
    service = next(s for s in client.services().services if s.type == "Default")
    assert service.dripfeed is None and "dripfeed" not in service.raw

    order_id = client.add(
        service.remote_id, link="https://x.example/p", quantity=service.min, runs=5, interval=30
    )

    upstream = simulator.sim.order(order_id)
    assert (upstream.fields["runs"], upstream.fields["interval"]) == ("5", "30")
    assert client.status(order_id).charge == service.rate * service.min * 5 / 1000


def test_drip_feed_status_reports_runs_and_child_orders(simulator, make_client):
    client = make_client(simulator)
    service = next(s for s in client.services().services if s.type == "Default")
    order_id = client.add(
        service.remote_id, link="https://x.example/drip", quantity=service.min, runs=3, interval=5
    )

    simulator.sim.advance(2)
    midway = client.status(order_id)
    simulator.sim.advance(5)
    done = client.status(order_id)

    assert (midway.status, midway.runs, len(midway.child_orders)) == (OrderStatus.IN_PROGRESS, 2, 2)
    assert (done.status, done.runs, done.remains) == (OrderStatus.COMPLETED, 3, 0)


def test_subscription_lifecycle_reports_posts_expiry_and_child_orders(simulator, make_client):
    client = make_client(simulator)
    service = by_type(client)["Subscriptions"]
    order_id = client.add(
        service.remote_id,
        username="star",
        min=service.min,
        max=service.min + 50,
        posts=2,
        delay=0,
        expiry="01/01/2031",
    )

    first = client.status(order_id)
    simulator.sim.advance(2)
    last = client.status(order_id)

    assert (first.status, first.posts, first.expiry) == (OrderStatus.ACTIVE, 0, "01/01/2031")
    assert (last.status, last.posts, len(last.child_orders)) == (OrderStatus.COMPLETED, 2, 2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "x", "min": 100, "max": 200, "delay": 7}, "Incorrect request"),  # delay not allowed
        ({"username": "x", "min": 300, "max": 200, "delay": 0}, "Incorrect request"),  # min above max
        ({"username": "x", "min": 100, "max": 200, "delay": 0, "expiry": "2031-01-01"}, "Incorrect request"),
        ({"username": "x", "min": 1, "max": 200, "delay": 0}, "Quantity less than minimal"),
    ],
)
def test_subscription_fields_are_validated_upstream(simulator, make_client, fields, message):
    client = make_client(simulator)
    with pytest.raises(ProviderRejected, match=message):
        client.add(by_type(client)["Subscriptions"].remote_id, **fields)


def test_status_follows_the_clock_to_completion(simulator, make_client):
    client = make_client(simulator)
    service = by_type(client)["Default"]
    order_id = client.add(service.remote_id, link="https://x.example/done", quantity=service.min)

    seen = []
    for _ in range(10):
        seen.append(client.status(order_id).status)
        if seen[-1].is_final:
            break
        simulator.sim.advance()

    assert seen[0] is OrderStatus.PENDING and OrderStatus.IN_PROGRESS in seen
    assert seen[-1] is OrderStatus.COMPLETED
    final = client.status(order_id)
    assert final.remains == 0 and final.start_count is not None


def test_multi_status_chunks_to_100_and_reports_errors(simulator, make_client):
    client = make_client(simulator)
    service = by_type(client)["Default"]
    ids = [
        client.add(service.remote_id, link=f"https://x.example/{n}", quantity=service.min) for n in range(150)
    ]
    calls_before = simulator.sim.calls.get("status", 0)

    results = client.statuses([*ids, "999999"])

    assert simulator.sim.calls["status"] - calls_before == 2  # 151 ids → 100 + 51
    assert all(isinstance(results[order_id], RemoteOrderStatus) for order_id in ids)
    assert results["999999"] == ItemError("Incorrect order ID")


def test_refill_single_and_multi_and_their_status(simulator, make_client):
    client = make_client(simulator)
    service = next(s for s in client.services().services if s.refill and s.type == "Default")
    ids = [
        client.add(service.remote_id, link=f"https://x.example/r{n}", quantity=service.min) for n in range(3)
    ]
    simulator.sim.advance(10)  # completed: refills are allowed now

    refill_id = client.refill(ids[0])
    many = client.refills([ids[1], ids[2], "999999"])

    assert isinstance(refill_id, str)
    assert isinstance(many[ids[1]], str) and isinstance(many[ids[2]], str)
    assert isinstance(many["999999"], ItemError)
    assert client.refill_status(refill_id).status is RefillStatus.PENDING
    simulator.sim.advance(10)
    statuses = client.refill_statuses([refill_id, many[ids[1]], "424242"])
    assert statuses[refill_id].status in {RefillStatus.COMPLETED, RefillStatus.REJECTED}
    assert isinstance(statuses[many[ids[1]]], RemoteRefillStatus)
    assert isinstance(statuses["424242"], ItemError)
    with pytest.raises(ProviderRejected):
        client.refill_status("424242")


def test_cancel_is_a_request_and_status_tells_the_result(simulator, make_client):
    client = make_client(simulator)
    service = next(s for s in client.services().services if s.cancel and s.type == "Default")
    order_id = client.add(service.remote_id, link="https://x.example/c", quantity=service.min)

    answer = client.cancel([order_id, "999999"])

    assert answer[order_id] is True
    assert isinstance(answer["999999"], ItemError)
    simulator.sim.advance(5)
    assert client.status(order_id).status is OrderStatus.CANCELED


@pytest.mark.parametrize(
    ("setup", "retry_later", "text"),
    [
        (lambda sim, svc: sim.set_balance(Decimal(0)), True, "Not enough funds on balance"),
        (lambda sim, svc: None, False, "Incorrect service ID"),
    ],
)
def test_rejections_are_classified(simulator, make_client, setup, retry_later, text):
    client = make_client(simulator)
    service = by_type(client)["Default"]
    setup(simulator.sim, service)
    service_id = service.remote_id if "funds" in text else "987654"

    with pytest.raises(ProviderRejected) as caught:
        client.add(service_id, link="https://x.example/z", quantity=service.min)

    assert caught.value.retry_later is retry_later
    assert text in str(caught.value)


def test_quantity_and_link_errors_are_permanent(simulator, make_client):
    client = make_client(simulator)
    service = by_type(client)["Default"]
    with pytest.raises(ProviderRejected, match="Quantity less than minimal") as caught:
        client.add(service.remote_id, link="https://x.example/q", quantity=service.min - 1)
    assert not caught.value.retry_later


def test_an_active_order_on_the_same_link_is_retry_later(simulator, make_client):
    client = make_client(simulator)
    service = by_type(client)["Default"]
    client.add(service.remote_id, link="https://x.example/same", quantity=service.min)

    with pytest.raises(ProviderRejected, match="active order with this link") as caught:
        client.add(service.remote_id, link="https://x.example/same", quantity=service.min)
    assert caught.value.retry_later


# --- never pay twice ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        "html",
        "empty",
        "truncated",
        "http_500",
        "http_502",
        "cloudflare",
        "accept_then_hang",
        "accept_then_drop",
    ],
)
def test_an_add_with_an_unknown_outcome_is_never_resent(simulator, make_client, fault):
    client = make_client(simulator, read_timeout=0.5)
    service = by_type(client)["Default"]
    simulator.sim.set_fault(fault, action="add", delay=1.5)

    with pytest.raises(ProviderOutcomeUnknown):
        client.add(service.remote_id, link="https://x.example/once", quantity=service.min)

    assert simulator.sim.calls["add"] == 1
    assert [call.outcome for call in client.calls if call.action == "add"] == ["unknown"]
    assert len(simulator.sim.orders()) <= 1


def test_accepted_then_no_answer_leaves_exactly_one_upstream_order(simulator, make_client):
    client = make_client(simulator, read_timeout=0.3)
    service = by_type(client)["Default"]
    simulator.sim.set_fault("accept_then_hang", action="add", delay=1.0)

    with pytest.raises(ProviderOutcomeUnknown, match=r"did not answer within 0\.3 s"):
        client.add(service.remote_id, link="https://x.example/hang", quantity=service.min)

    assert len(simulator.sim.orders()) == 1


def test_an_add_that_was_never_sent_is_retried(make_client, simulator, unused_tcp_port):
    client = ProviderClient(
        f"http://127.0.0.1:{unused_tcp_port}/api/v2", "k", attempts=3, backoff_initial=0.01, backoff_max=0.02
    )
    with pytest.raises(ProviderUnavailable, match="nothing was sent"):
        client.add("1", link="https://x.example", quantity=10)


def test_a_429_on_add_is_retried_and_places_one_order(simulator, make_client):
    client = make_client(simulator)
    service = by_type(client)["Default"]
    simulator.sim.set_fault("rate_limit", action="add", times=1)

    order_id = client.add(service.remote_id, link="https://x.example/429", quantity=service.min)

    assert [call.outcome for call in client.calls if call.action == "add"] == ["unavailable", "ok"]
    assert [order.id for order in simulator.sim.orders()] == [order_id] or len(simulator.sim.orders()) == 1


def test_read_only_calls_retry_through_garbage(simulator, make_client):
    client = make_client(simulator)
    simulator.sim.set_fault("html", action="balance", times=2)

    assert client.balance().currency == "USD"
    assert [call.outcome for call in client.calls] == ["unknown", "unknown", "ok"]


def test_a_slow_provider_times_out_reads_cleanly(simulator, make_client):
    client = make_client(simulator, read_timeout=0.3, attempts=1)
    simulator.sim.set_fault("slow", action="services", delay=1.0)

    with pytest.raises(ProviderOutcomeUnknown, match="did not answer"):
        client.services()


def test_errors_with_4xx_statuses_are_rejections(make_simulator, make_client):
    server = make_simulator("smmcloud")
    server.sim.set_fault("error_http_4xx")
    client = ProviderClient(server.url, "wrong-key-000000", backoff_initial=0.01)

    with pytest.raises(ProviderRejected, match="Invalid API key") as caught:
        client.balance()
    assert caught.value.is_auth_error and caught.value.http_status >= 400


# --- quirks (DOMAIN §4) ---------------------------------------------------------------------------


def test_opaque_ids_stay_strings(make_simulator, make_client):
    server = make_simulator("smmcloud", opaque_ids=True)
    client = make_client(server)
    service = by_type(client)["Default"]

    order_id = client.add(service.remote_id, link="https://x.example/o", quantity=service.min)

    assert not order_id.isdigit()
    assert isinstance(client.statuses([order_id])[order_id], RemoteOrderStatus)


def test_status_spelling_variants_fold(make_simulator, make_client):
    server = make_simulator("smmcloud", status_spelling="variants")
    client = make_client(server)
    service = by_type(client)["Default"]
    ids = [
        client.add(service.remote_id, link=f"https://x.example/v{n}", quantity=service.min) for n in range(3)
    ]

    seen = set()
    for _ in range(6):
        results = client.statuses(ids)
        seen |= {result.status for result in results.values()}
        assert all(result.status is not OrderStatus.UNKNOWN for result in results.values())
        server.sim.advance()
    assert OrderStatus.COMPLETED in seen


def test_multi_status_bare_strings_and_missing_ids(make_simulator, make_client):
    server = make_simulator("smmcloud", multi_bare_strings=True, multi_missing_ids=True)
    client = make_client(server)
    service = by_type(client)["Default"]
    ids = [
        client.add(service.remote_id, link=f"https://x.example/b{n}", quantity=service.min) for n in range(6)
    ]

    results = client.statuses([*ids, "999999"])

    assert set(results) <= {*ids, "999999"}
    assert len(results) < len(ids) + 1  # some left out, and that is not an error
    assert all(isinstance(value, RemoteOrderStatus | ItemError) for value in results.values())


def test_weird_counts_and_provider_currency_are_read_as_given(make_simulator, make_client):
    server = make_simulator("smmcloud", weird_counts=True, provider_currency="EUR")
    client = make_client(server)
    service = by_type(client)["Default"]
    order_id = client.add(service.remote_id, link="https://x.example/w", quantity=service.min)
    server.sim.advance(10)

    status = client.status(order_id)

    assert status.currency == "EUR"
    assert status.start_count is None or isinstance(status.start_count, int)
    assert status.remains is None or isinstance(status.remains, int)


def test_key_in_a_header(make_simulator):
    server = make_simulator("smmcool", key_in_header=True)
    for header in ["X-Api-Key", "Authorization"]:
        client = ProviderClient(server.url, server.key, key_header=header)
        assert client.balance().currency == "USD"


def test_the_call_record_never_holds_the_key(simulator, make_client):
    client = make_client(simulator)
    simulator.sim.set_fault("html", action="balance", times=1)
    client.balance()
    with pytest.raises(ProviderRejected):
        client.add("987654", link="https://x.example", quantity=1)

    assert client.calls
    for record in client.calls:
        assert simulator.key not in repr(record)
        assert "key" not in record.params


@pytest.mark.parametrize("action", ["refill", "cancel"])
def test_refill_and_cancel_are_never_resent_either(simulator, make_client, action):
    client = make_client(simulator)
    service = next(s for s in client.services().services if s.refill and s.cancel)
    order_id = client.add(service.remote_id, link="https://x.example/rc", quantity=service.min)
    if action == "refill":
        simulator.sim.advance(5)
    simulator.sim.set_fault("http_500", action=action)

    with pytest.raises(ProviderOutcomeUnknown):
        client.refill(order_id) if action == "refill" else client.cancel([order_id])

    assert simulator.sim.calls[action] == 1


def test_a_failing_chunk_keeps_the_answers_of_the_chunks_before_it(simulator, make_client):
    client = make_client(simulator, attempts=1)
    service = by_type(client)["Default"]
    ids = [
        client.add(service.remote_id, link=f"https://x.example/k{n}", quantity=service.min)
        for n in range(120)
    ]

    def break_after_first_status(record):
        if record.action == "status":
            simulator.sim.set_fault("http_502", action="status")

    client.on_call = break_after_first_status
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client.statuses(ids)

    assert sorted(caught.value.partial_results) == sorted(ids[:100])
