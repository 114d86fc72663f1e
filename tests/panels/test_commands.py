from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from panels.models import Provider, ProviderService


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_addprovider_creates_then_updates_and_never_prints_the_key(simulator):
    base_url = simulator.url.removesuffix("/api/v2")
    out = run("addprovider", "Cloud", base_url, simulator.key)
    assert out.startswith("Created provider Cloud: " + simulator.url)
    assert simulator.key not in out

    out = run("addprovider", "Cloud", simulator.url, "another-key-123456", "--calls-per-minute", "30")
    assert out.startswith("Updated provider Cloud")
    provider = Provider.objects.get()
    assert (provider.api_key, provider.calls_per_minute) == ("another-key-123456", 30)


@pytest.mark.django_db
def test_addprovider_rejects_a_bad_url():
    with pytest.raises(CommandError, match="api_url"):
        run("addprovider", "Bad", "not a url", "key-1234567890")
    assert not Provider.objects.exists()


def test_syncprovider_prints_balance_and_what_changed(provider, simulator):
    out = run("syncprovider", provider.name)
    count = ProviderService.objects.count()
    assert f"Balance: {simulator.sim.balance}" in out
    assert f"Catalogue: {count} services: {count} new, 0 changed" in out

    simulator.sim.remove_service(ProviderService.objects.first().remote_id)
    out = run("syncprovider", provider.name, "--catalogue-only")
    assert "1 paused (vanished)" in out and "Balance" not in out


def test_syncprovider_explains_failures(provider, simulator):
    simulator.sim.set_fault("html")
    with pytest.raises(CommandError, match="HTML page") as caught:
        run("syncprovider", provider.name)
    assert simulator.key not in str(caught.value)


@pytest.mark.django_db
def test_syncprovider_unknown_name():
    with pytest.raises(CommandError, match="No provider called 'nope'"):
        run("syncprovider", "nope")


@pytest.mark.django_db
def test_addprovider_keeps_the_key_at_the_same_url_and_wants_it_for_a_new_one(simulator):
    run("addprovider", "Cloud", simulator.url, simulator.key)
    assert run("addprovider", "Cloud", simulator.url, "--calls-per-minute", "7").startswith("Updated")
    with pytest.raises(CommandError, match="api_key: The API URL changed: enter the API key again"):
        run("addprovider", "Cloud", "https://elsewhere.example")
    kept = Provider.objects.get()
    assert (kept.api_url, kept.api_key, kept.calls_per_minute) == (simulator.url, simulator.key, 7)


@pytest.mark.django_db
def test_addprovider_reads_the_key_from_standard_input(monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO("key-from-stdin-123456\n"))
    out = run("addprovider", "Piped", "https://piped.example", "-")
    assert out.startswith("Created provider Piped") and "key-from-stdin" not in out
    assert Provider.objects.get().api_key == "key-from-stdin-123456"

    monkeypatch.setattr("sys.stdin", StringIO(""))
    with pytest.raises(CommandError, match="No API key was given on standard input"):
        run("addprovider", "Piped", "https://piped.example", "-")
    assert Provider.objects.get().api_key == "key-from-stdin-123456"


@pytest.mark.django_db
def test_runpanel_refuses_without_debug_and_creates_no_login_or_funds(settings, django_user_model):
    settings.DEBUG = False  # production: a known operator password and free funds must never appear
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("runpanel", "--no-simulator", "--port", "1")
    assert not django_user_model.objects.exists()
