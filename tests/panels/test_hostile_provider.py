"""A provider answering bytes no API document allows, over real HTTP: each maps to a typed outcome of the
client, the admin's actions say so in plain words, and every sync run (catalogue, balance, status) is closed
with the error — whatever was raised, and however deep the answer."""

import socket
import threading
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest

from orders.services import order_place, order_submit
from orders.tasks import sync_order_statuses
from panels.catalogue import catalogue_sync
from panels.client import ProviderOutcomeUnknown, ProviderRejected
from panels.models import ProviderCall, ProviderService, SyncRun
from panels.services import balance_sync
from tests.orders.support import data_for, service_of
from tests.panels.support import run_action

UNREADABLE = {
    "deep_json": "nested deeper than 32 levels",
    "huge_body": "larger than 1 MB",
    "json_number_overflow": "the number 1e999 is out of range",
    "nan": "NaN is not a JSON number",
}


@pytest.mark.parametrize(("kind", "reason"), UNREADABLE.items(), ids=UNREADABLE.keys())
@pytest.mark.parametrize("action", ["services", "balance", "status", "add"])
def test_unreadable_answers_are_an_unknown_outcome(make_simulator, make_client, kind, reason, action):
    server = make_simulator("smmcloud")
    client = make_client(server, max_answer_bytes=1024 * 1024)
    service = next(s for s in client.services().services if s.type == "Default")
    placed = client.add(service.remote_id, link="https://x.example/p", quantity=service.min)
    client.calls.clear()
    server.sim.set_fault(kind)
    call = {
        "services": client.services,
        "balance": client.balance,
        "status": lambda: client.status(placed),
        "add": lambda: client.add(service.remote_id, link="https://x.example/a", quantity=service.min),
    }[action]
    with pytest.raises(ProviderOutcomeUnknown) as raised:
        call()
    assert reason in str(raised.value)
    assert len(client.calls) == (3 if action != "add" else 1)  # reads retried, an add never re-sent
    assert all(call.outcome == "unknown" and len(call.response_excerpt) <= 300 for call in client.calls)


def test_invalid_text_is_repaired_and_the_answer_used(make_simulator, make_client):
    server = make_simulator("smmcloud")
    client = make_client(server)
    server.sim.set_fault("invalid_utf8")
    names = [service.name for service in client.services().services]
    assert names and all(name.startswith("\ufffd\ufffd\ufffd\ufffd\ufffd") for name in names)
    assert not any("\x00" in name or "\ud800" in name for name in names)
    with pytest.raises(ProviderRejected) as raised:
        client.status("999999")
    assert raised.value.message.endswith("Incorrect order ID") and "\x00" not in raised.value.message


def test_a_catalogue_with_invalid_text_is_stored(make_simulator, make_provider):
    """PostgreSQL refuses NUL and unpaired surrogates in text and jsonb: what is stored is repaired."""
    server = make_simulator("smmcloud")
    provider = make_provider(server)
    server.sim.set_fault("invalid_utf8")
    result = catalogue_sync(provider=provider)
    assert result.created and not result.invalid
    stored = ProviderService.objects.get(provider=provider, remote_id=result.created[0])
    assert stored.name.startswith("\ufffd") and stored.raw["name"] == stored.name
    assert SyncRun.objects.get().ok is True


@pytest.mark.parametrize("kind", ["deep_json", "json_number_overflow"])
def test_admin_actions_explain_an_unreadable_answer_and_close_the_runs(
    operator_client,
    provider,
    simulator,
    kind,
):
    simulator.sim.set_fault(kind)
    for action in ["test_connection", "sync_catalogue", "sync_balance"]:
        [message] = run_action(operator_client, action, provider)
        assert message.startswith(
            f"{provider.name}: The provider answered HTTP 200 with a body that is not usable"
        )
    runs = SyncRun.objects.all()
    assert len(runs) == 3 and all(run.ok is False and run.finished_at for run in runs)
    assert all("not usable JSON" in run.error for run in runs)
    assert not ProviderService.objects.exists()
    assert ProviderCall.objects.filter(outcome="unknown").count() == 9  # three reads, each tried three times


def test_a_status_sync_answered_with_deep_json_is_closed_as_failed(shop, customer):
    server, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    order = order_place(user=customer, service=service, data=data_for(service), actor=customer)
    order_submit(order_id=order.pk)
    server.sim.set_fault("deep_json")
    sync_order_statuses(provider.pk)
    run = SyncRun.objects.get(kind=SyncRun.Kind.STATUS)
    assert run.ok is False and run.finished_at and "1 batches failed" in run.error


def test_every_kind_of_run_is_closed_on_an_unexpected_exception(provider, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("panels.catalogue._apply", broken)  # inside the catalogue's transaction
    monkeypatch.setattr("panels.services.provider_client", broken)
    monkeypatch.setattr("orders.tasks.orders_sync_statuses", broken)
    for sync in [
        lambda: catalogue_sync(provider=provider),
        lambda: balance_sync(provider=provider),
        lambda: sync_order_statuses(provider.pk),
    ]:
        with pytest.raises(RuntimeError, match="the disk is full"):
            sync()
    runs = SyncRun.objects.order_by("pk")
    assert [run.kind for run in runs] == ["catalogue", "balance", "status"]
    assert all((run.ok, run.error) == (False, "the disk is full") and run.finished_at for run in runs)


def test_a_body_shorter_than_its_content_length_is_an_unknown_outcome(make_client):
    """A proxy that drops the connection mid-body: the read fails while the body streams in."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_short():
        for _ in range(3):  # a balance is read three times
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"balance": "1')

    threading.Thread(target=answer_short, daemon=True).start()
    server = SimpleNamespace(url=f"http://127.0.0.1:{listener.getsockname()[1]}/api/v2", key="k" * 32)
    client = make_client(server)
    with pytest.raises(ProviderOutcomeUnknown, match="The connection to the provider broke"):
        client.balance()
    listener.close()
    assert [call.outcome for call in client.calls] == ["unknown"] * 3


# Answers to a write that say neither yes nor no: an id with an error, an id of 0, an id nothing can follow.
AMBIGUOUS_ADD_ANSWERS = {
    "id-and-error": {"error": "Something went wrong"},
    "id-and-retry-later-error": {"error": "Not enough funds"},
    "zero": {"order": 0},
    "longer-than-its-column": {"order": "9" * 65},
    "with-a-space": {"order": "10 001"},
    "fraction": {"order": 1.5},
}


@pytest.mark.parametrize("rewrite", AMBIGUOUS_ADD_ANSWERS.values(), ids=AMBIGUOUS_ADD_ANSWERS.keys())
def test_an_ambiguous_add_answer_waits_for_review_and_is_never_resent(shop, customer, rewrite):
    """The provider made the order and answered something no caller can act on: neither refused (no refund,
    no retry) nor accepted (nothing to follow) — the operator decides; no second order is ever sent."""
    server, provider = shop("smmcloud", rewrite_answers={"add": rewrite})
    service = service_of(provider, "Default")
    order = order_place(user=customer, service=service, data=data_for(service), actor=customer)
    order_submit(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "needs_review" and order.provider_order_id is None and order.refunded == 0
    assert server.sim.calls["add"] == 1 and len(server.sim.orders()) == 1
    assert ProviderCall.objects.filter(action="add").count() == 1
    assert order_submit(order_id=order.pk) is None and server.sim.calls["add"] == 1


def test_a_refill_answered_with_an_id_and_an_error_is_an_unknown_outcome(make_simulator, make_client):
    server = make_simulator("smmcloud", rewrite_answers={"refill": {"error": "Something went wrong"}})
    client = make_client(server)
    service = next(s for s in client.services().services if s.refill and s.type == "Default")
    placed = client.add(service.remote_id, link="https://x.example/r", quantity=service.min)
    server.sim.advance(10)  # completed: refills are allowed now
    with pytest.raises(ProviderOutcomeUnknown, match="an id and an error"):
        client.refill(placed)
    assert server.sim.calls["refill"] == 1


def test_an_id_beside_an_empty_error_is_accepted(make_simulator, make_client):
    server = make_simulator("smmcloud", rewrite_answers={"add": {"error": None}})
    client = make_client(server)
    service = next(s for s in client.services().services if s.type == "Default")
    assert client.add(service.remote_id, link="https://x.example/n", quantity=service.min) == "10001"


def test_catalogue_entries_the_columns_cannot_hold_are_unreadable_not_a_failed_sync(
    make_simulator, make_provider
):
    """On PostgreSQL each of these failed the whole sync (numeric overflow, a value too long for its column);
    a decimal comma was read as a rate ten times larger."""
    services = [
        {"service": 1, "name": "Fine", "rate": "0.90", "min": 10, "max": 1000},
        {"service": 2, "name": "Rounds to 10^12", "rate": "999999999999.999999999", "min": 10, "max": 1000},
        {"service": "9" * 65, "name": "Long id", "rate": "1", "min": 10, "max": 1000},
        {"service": 4, "name": "Decimal comma", "rate": "1,5", "min": 10, "max": 1000},
        {
            "service": 5,
            "name": "N" * 100_000,
            "type": "T" * 1000,
            "category": "C" * 1000,
            "rate": 1,
            "min": 1,
            "max": 2,
        },
    ]
    provider = make_provider(make_simulator("smmcloud", rewrite_answers={"services": services}))
    result = catalogue_sync(provider=provider)
    assert sorted(result.created) == ["1", "5"] and len(result.invalid) == 3
    assert {record.remote_id for record in result.invalid} == {"2", None, "4"}
    assert ProviderService.objects.get(remote_id="1").rate == Decimal("0.90")
    assert SyncRun.objects.get().ok is True


@pytest.mark.parametrize("balance", ["999999999999.999999999", "1,5"])
def test_a_balance_the_column_cannot_hold_is_explained_by_test_connection(
    operator_client,
    make_simulator,
    make_provider,
    balance,
):
    provider = make_provider(make_simulator("smmcloud", rewrite_answers={"balance": {"balance": balance}}))
    [message] = run_action(operator_client, "test_connection", provider)
    assert message.startswith(f"{provider.name}: The provider's answer to 'balance' is not a balance")
    run = SyncRun.objects.get()
    assert run.ok is False and run.finished_at
    provider.refresh_from_db()
    assert provider.balance is None


@pytest.mark.parametrize("action", ["services", "balance", "status", "add"])
def test_a_provider_trickling_its_answer_is_cut_off_at_the_call_deadline(make_simulator, make_client, action):
    """A byte every 0.2 s comes well within the read timeout (1 s), so only a deadline on the whole call
    frees the worker: the answer (here 30 s long) is abandoned at 1 + 2 x 1 s, as an unknown outcome."""
    server = make_simulator("smmcloud")
    client = make_client(server, attempts=2)
    service = next(s for s in client.services().services if s.type == "Default")
    placed = client.add(service.remote_id, link="https://x.example/p", quantity=service.min)
    client.calls.clear()
    server.sim.set_fault("drip", delay=0.2)
    call = {
        "services": client.services,
        "balance": client.balance,
        "status": lambda: client.status(placed),
        "add": lambda: client.add(service.remote_id, link="https://x.example/a", quantity=service.min),
    }[action]
    started = time.monotonic()
    with pytest.raises(ProviderOutcomeUnknown, match="did not finish answering within 3 s"):
        call()
    attempts = 2 if action != "add" else 1  # an add is never sent twice
    assert time.monotonic() - started < attempts * 3 + 1.5
    assert [call.outcome for call in client.calls] == ["unknown"] * attempts
    assert server.sim.calls[action] == attempts + (action in {"services", "add"})


def test_the_admin_explains_a_trickling_provider_and_closes_the_run(
    operator_client,
    provider,
    simulator,
    settings,
):
    settings.PROVIDER_CALL_ATTEMPTS = 1
    provider.connect_timeout = provider.read_timeout = Decimal(1)
    provider.save()
    simulator.sim.set_fault("drip", delay=0.2)
    [message] = run_action(operator_client, "test_connection", provider)
    assert message == f"{provider.name}: The provider did not finish answering within 3 s."
    run = SyncRun.objects.get()
    assert run.ok is False and run.finished_at and "did not finish answering" in run.error
    assert ProviderCall.objects.get().outcome == "unknown"
