"""Providers: registration, encrypted keys, balance, the call log and the shared rate limit."""

import logging
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from panels.client import ProviderOutcomeUnknown, ProviderUnavailable
from panels.models import Provider, ProviderCall, SyncRun
from panels.ratelimit import ProviderBudget
from panels.services import (
    balance_sync,
    provider_calls_prune,
    provider_client,
    provider_test_connection,
    provider_upsert,
)

SECRET = "sk-live-0123456789abcdef"


@pytest.mark.django_db
def test_upsert_creates_then_updates_by_name():
    provider, created = provider_upsert(name="Cloud", api_url="https://smmcloud.uk", api_key=SECRET)
    assert created and provider.api_url == "https://smmcloud.uk/api/v2"

    same, created = provider_upsert(name="Cloud", api_url="https://smmcloud.uk/api/v2/", calls_per_minute=30)
    assert not created and same.pk == provider.pk
    same.refresh_from_db()
    assert same.api_key == SECRET  # kept when not given
    assert same.calls_per_minute == 30


@pytest.mark.django_db
def test_upsert_refuses_bad_input_and_writes_nothing():
    with pytest.raises(ValidationError) as caught:
        provider_upsert(name="Bad", api_url="smmcloud.uk", api_key=SECRET)
    assert "api_url" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        provider_upsert(name="NoKey", api_url="https://smmcloud.uk")
    assert "api_key" in caught.value.message_dict
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_api_key_is_encrypted_at_rest_and_masked():
    provider, _ = provider_upsert(name="Cloud", api_url="https://smmcloud.uk", api_key=SECRET)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM panels_provider WHERE id = %s", [provider.pk])
        stored = cursor.fetchone()[0]
    assert SECRET not in stored and len(stored) > len(SECRET)
    assert Provider.objects.get(pk=provider.pk).api_key == SECRET
    assert provider.masked_key == "••••cdef"
    assert SECRET not in repr(provider_client(provider))


def test_balance_sync_records_balance_currency_and_time(provider, simulator):
    balance = balance_sync(provider=provider)

    provider.refresh_from_db()
    assert balance.amount == provider.balance == simulator.sim.balance
    assert isinstance(provider.balance, Decimal)
    assert provider.currency == "USD" and provider.balance_checked_at is not None
    assert SyncRun.objects.get(kind=SyncRun.Kind.BALANCE).ok


def test_low_balance_is_flagged_and_logged(make_provider, simulator, caplog):
    provider = make_provider(simulator, low_balance_threshold=simulator.sim.balance + 1)

    with caplog.at_level(logging.WARNING):
        balance_sync(provider=provider)

    assert provider.is_low_balance
    assert "below its threshold" in caplog.text
    assert "below the threshold" in SyncRun.objects.get(kind=SyncRun.Kind.BALANCE).summary


def test_test_connection_reports_the_balance(provider):
    assert provider_test_connection(provider=provider).startswith("Connected; balance 1000")


def test_every_call_is_logged_without_the_key(provider, simulator, caplog):
    simulator.sim.set_fault("html", action="balance", times=1)
    with caplog.at_level(logging.DEBUG):
        balance_sync(provider=provider)  # first attempt gets HTML, the retry succeeds

    calls = list(ProviderCall.objects.order_by("created_at"))
    assert [(call.action, call.outcome) for call in calls] == [("balance", "unknown"), ("balance", "ok")]
    assert calls[0].http_status == 200 and "HTML" in calls[0].error
    for call in calls:
        assert simulator.key not in str(call.params) + call.error + call.response_excerpt
    assert simulator.key not in caplog.text


def test_read_only_calls_give_up_after_their_attempts(provider, simulator):
    simulator.sim.set_fault("http_502", action="balance")

    with pytest.raises(ProviderOutcomeUnknown, match="HTTP 502"):
        balance_sync(provider=provider)

    assert ProviderCall.objects.filter(action="balance").count() == settings.PROVIDER_CALL_ATTEMPTS


def test_prune_keeps_recent_calls(provider):
    from datetime import timedelta

    from django.utils import timezone

    balance_sync(provider=provider)
    ProviderCall.objects.update(
        created_at=timezone.now() - timedelta(days=settings.PROVIDER_CALL_LOG_DAYS + 1)
    )
    balance_sync(provider=provider)

    assert provider_calls_prune() == 1
    assert ProviderCall.objects.count() == 1


def test_rate_limit_stops_calls_before_they_are_sent(make_provider, simulator):
    provider = make_provider(simulator, calls_per_minute=3)
    client = provider_client(provider)
    for _ in range(3):
        client.balance()

    with pytest.raises(ProviderUnavailable, match="3 calls a minute"):
        client.balance()
    assert simulator.sim.calls["balance"] == 3


@pytest.mark.skipif(not settings.REDIS_URL, reason="a limit shared across processes needs REDIS_URL")
def test_rate_limit_is_shared_across_processes(make_provider, simulator):
    provider = make_provider(simulator, calls_per_minute=2)
    ProviderBudget(provider.pk, 2).acquire()
    ProviderBudget(provider.pk, 2).acquire()

    # Another process (as another Celery worker would be) finds the budget used up.
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='reseller.settings.test'; django.setup();"
        "from panels.ratelimit import ProviderBudget; from panels.client import RateLimited\n"
        f"try:\n    ProviderBudget({provider.pk}, 2).acquire()\nexcept RateLimited:\n    print('LIMITED')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "LIMITED" in out.stdout


@pytest.mark.django_db
def test_a_new_url_needs_the_key_again_and_nothing_is_written_without_it():
    provider, _ = provider_upsert(name="Cloud", api_url="https://smmcloud.uk", api_key=SECRET)
    with pytest.raises(ValidationError) as caught:
        provider_upsert(name="Cloud", api_url="https://elsewhere.example", calls_per_minute=5)
    assert "enter the API key again" in caught.value.message_dict["api_key"][0]
    provider.refresh_from_db()
    assert (provider.api_url, provider.calls_per_minute) == ("https://smmcloud.uk/api/v2", 60)

    moved, _ = provider_upsert(name="Cloud", api_url="https://elsewhere.example", api_key="sk-new-0000111122")
    assert (moved.api_url, moved.api_key) == ("https://elsewhere.example/api/v2", "sk-new-0000111122")
