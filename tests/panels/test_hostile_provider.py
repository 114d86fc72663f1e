"""A provider answering bytes no API document allows, over real HTTP: each maps to a typed outcome of the
client, the admin's actions say so in plain words, and every sync run (catalogue, balance, status) is closed
with the error — whatever was raised, and however deep the answer."""

import socket
import threading
from types import SimpleNamespace

import pytest

from orders.services import order_place, order_submit
from orders.tasks import sync_order_statuses
from panels.catalogue import catalogue_sync
from panels.client import ProviderOutcomeUnknown, ProviderRejected
from panels.models import ProviderCall, ProviderService, SyncRun
from panels.services import balance_sync
from tests.orders.support import data_for, service_of
from tests.panels.test_admin import operator_client, run_action  # noqa: F401 — a fixture and its helper

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
    operator_client,  # noqa: F811 — the fixture imported above
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
