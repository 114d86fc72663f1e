"""The simulator itself, over plain HTTP: what a provider panel does with our requests."""

from decimal import Decimal

import pytest
import requests

from panels.simulator import Simulator, SimulatorServer


def api(server, action, **fields):
    return requests.post(server.url, data={"key": server.key, "action": action, **fields}, timeout=5)


def control(server, path, payload=None):
    base = server.url.removesuffix("/api/v2")
    if payload is None:
        return requests.get(f"{base}/_sim/{path}", timeout=5).json()
    return requests.post(f"{base}/_sim/{path}", json=payload, timeout=5).json()


def test_answers_have_the_documented_shapes(simulator):
    services = api(simulator, "services").json()
    assert set(services[0]) >= {
        "service",
        "name",
        "type",
        "category",
        "rate",
        "min",
        "max",
        "refill",
        "cancel",
    }
    assert isinstance(services[0]["rate"], str)

    order = api(simulator, "add", service=1, link="https://x.example/a", quantity=100).json()
    assert isinstance(order["order"], int)
    status = api(simulator, "status", order=order["order"]).json()
    assert status == {
        "charge": "0.09000",
        "start_count": status["start_count"],
        "status": "Pending",
        "remains": "100",
        "currency": "USD",
    }
    multi = api(simulator, "status", orders=f"{order['order']},1").json()
    assert multi["1"] == {"error": "Incorrect order ID"}
    assert api(simulator, "balance").json() == {"balance": "999.91000", "currency": "USD"}


def test_charges_follow_each_type(make_simulator):
    server = make_simulator("full")
    sim = server.sim
    cases = [
        ({"service": 1, "link": "https://x.example/1", "quantity": 1000}, Decimal("0.90")),  # rate per 1000
        (
            {"service": 1, "link": "https://x.example/2", "quantity": 100, "runs": 4, "interval": 10},
            Decimal("0.36"),
        ),
        ({"service": 3, "link": "https://x.example/3"}, Decimal("4.50")),  # a package: the rate is its price
        ({"service": 4, "link": "https://x.example/4", "comments": "\n".join(["c"] * 10)}, Decimal("0.08")),
        ({"service": 5, "username": "u", "min": 100, "max": 200, "posts": 3, "delay": 0}, Decimal("0.21")),
    ]
    for fields, charge in cases:
        before = sim.balance
        order_id = str(api(server, "add", **fields).json()["order"])
        assert sim.order(order_id).charge == charge
        assert before - sim.balance == charge


def test_partial_and_cancel_refund_the_provider_balance(simulator):
    sim = simulator.sim
    partial = str(
        api(simulator, "add", service=1, link="https://x.example/partial", quantity=300).json()["order"]
    )
    cancel = str(api(simulator, "add", service=1, link="https://x.example/c1", quantity=300).json()["order"])
    spent = Decimal(1000) - sim.balance
    assert api(simulator, "cancel", orders=cancel).json() == [{"order": int(cancel), "cancel": 1}]

    sim.advance(5)

    assert sim.order(partial).status == "Partial"
    assert sim.order(partial).remains == 100
    assert sim.order(cancel).status == "Canceled"
    # A third of the partial one and all of the canceled one come back.
    assert Decimal(1000) - sim.balance == spent - Decimal("0.09") - Decimal("0.27")


def test_control_endpoints_drive_a_separate_process(simulator):
    api(simulator, "add", service=1, link="https://x.example/ctl", quantity=100)
    control(simulator, "advance", {"steps": 5})
    assert control(simulator, "orders")[0]["status"] == "Completed"

    control(simulator, "fault", {"kind": "html", "action": "balance", "times": 1})
    assert api(simulator, "balance").headers["Content-Type"] == "text/html"
    assert api(simulator, "balance").json()["currency"] == "USD"

    added = control(simulator, "services", {"operation": "add", "count": 2})["added"]
    control(simulator, "services", {"operation": "remove", "id": added[0]})
    assert control(simulator, "state")["services"] == 9
    control(simulator, "option", {"name": "opaque_ids", "value": True})
    assert (
        api(simulator, "add", service=1, link="https://x.example/o", quantity=100)
        .json()["order"]
        .startswith("ord_")
    )
    assert "error" in control(simulator, "fault", {"kind": "no-such-fault"})


def test_its_own_rate_limit_answers_429():
    with SimulatorServer(Simulator(calls_per_minute=2)) as server:
        codes = [api(server, "balance").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_get_query_strings_and_unknown_paths(simulator):
    answer = requests.get(simulator.url, params={"key": simulator.key, "action": "balance"}, timeout=5)
    assert answer.json()["currency"] == "USD"
    wrong = requests.post(simulator.url.replace("/api/v2", "/api/v1"), timeout=5)
    assert wrong.status_code == 404
    assert "<html>" in wrong.text


# The `services` fields of both seed documents.
DOCUMENTED_SERVICE_FIELDS = {"service", "name", "type", "category", "rate", "min", "max", "refill", "cancel"}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"service": 999, "link": "https://x.example", "quantity": 100}, "Incorrect service ID"),
        ({"service": 1, "link": "not a link", "quantity": 100}, "Bad link"),
        ({"service": 1, "link": "https://x.example", "quantity": 10}, "Quantity less than minimal 50"),
        ({"service": 1, "link": "https://x.example", "quantity": 10**6}, "Quantity more than maximal 10000"),
        (  # runs/interval: Default services only, as both documents list them
            {
                "service": 6,
                "link": "https://x.example",
                "quantity": 100,
                "username": "u",
                "runs": 3,
                "interval": 5,
            },
            "Incorrect request",
        ),
        (
            {"service": 2, "link": "https://x.example", "quantity": 100, "runs": 0, "interval": 5},
            "Incorrect request",
        ),
        (
            {"service": 2, "link": "https://x.example", "quantity": 100, "runs": 3, "interval": ""},
            "Incorrect request",
        ),
        ({"service": 6, "link": "https://x.example", "quantity": 100}, "Incorrect request"),  # no username
    ],
)
def test_add_validation_messages(simulator, fields, error):
    assert api(simulator, "add", **fields).json() == {"error": error}
    assert simulator.sim.orders() == []


@pytest.mark.parametrize("dialect", ["smmcloud", "smmcool"])
def test_services_answer_as_the_documents_and_default_services_take_runs(make_simulator, dialect):
    server = make_simulator(dialect)
    listed = api(server, "services").json()
    assert all(set(record) <= DOCUMENTED_SERVICE_FIELDS | {"desc"} for record in listed)
    for record in (r for r in listed if r["type"] == "Default"):
        fields = {
            "link": f"https://x.example/{record['service']}",
            "quantity": record["min"],
            "runs": 3,
            "interval": 5,
        }
        assert "order" in api(server, "add", service=record["service"], **fields).json()
    assert all(order.fields["runs"] == "3" for order in server.sim.orders())


def test_the_dripfeed_flag_is_a_quirk_and_a_stated_no_is_kept(make_simulator):
    server = make_simulator("smmcloud", dripfeed_flag=True)
    server.sim.set_service(2, dripfeed=False)
    flags = {record["service"]: record["dripfeed"] for record in api(server, "services").json()}
    assert flags[1] is True and flags[2] is False and flags[3] is False  # a Package has no runs
    refused = api(server, "add", service=2, link="https://x.example/p", quantity=100, runs=3, interval=5)
    assert refused.json() == {"error": "Incorrect request"}
    assert server.sim.orders() == []


def test_a_wrong_key_and_an_unknown_action(simulator):
    bad = requests.post(simulator.url, data={"key": "nope", "action": "balance"}, timeout=5)
    assert bad.json() == {"error": "Invalid API key"}
    assert api(simulator, "launch").json() == {"error": "Incorrect request"}
    assert api(simulator, "status", orders=",".join(map(str, range(101)))).json() == {
        "error": "Incorrect request"
    }
