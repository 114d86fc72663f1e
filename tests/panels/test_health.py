"""The circuit breaker (``panels.health``, issue 17): marked down after failing calls, on trial after the
cool-off, one trial at a time, closed by an answer; by hand, down until marked up. Time moves through the
``now`` the functions take; the call log is written as the client reports calls."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry
from panels.client import CallRecord
from panels.health import (
    Breaker,
    breaker_record,
    breaker_state,
    breaker_trial_take,
    provider_mark_down,
    provider_mark_up,
)
from panels.models import Provider
from panels.services import provider_calls_record, provider_upsert
from tests.staff import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline(db) -> Provider:
    provider, _ = provider_upsert(name="Flaky", api_url="http://127.0.0.1:9/api/v2", api_key="k" * 16)
    return provider


def calls(outcome: str, count: int = 1, http_status: int | None = None) -> list[CallRecord]:
    return [CallRecord("add", {}, http_status, 10, outcome, "", "") for _ in range(count)]


def test_failures_over_the_threshold_open_it_for_the_cool_off(offline, settings):
    provider_calls_record(provider=offline, records=calls("ok", 4))
    provider_calls_record(provider=offline, records=calls("unavailable", 4))
    assert breaker_state(offline) == Breaker.UP  # 4 failed: under the minimum of 5
    provider_calls_record(provider=offline, records=calls("unknown"))  # 5 of 9: over half
    assert breaker_state(offline) == Breaker.DOWN
    later = timezone.now() + timedelta(seconds=settings.BREAKER_COOLOFF_SECONDS + 1)
    assert breaker_state(offline, now=later) == Breaker.TRIAL  # comes back by itself, on trial
    assert offline.down_reason == "5 of 9 calls failed (nothing sent, or no valid answer) within 120 s."


def test_the_providers_429s_are_its_pace_not_failures(offline):
    provider_calls_record(provider=offline, records=calls("unavailable", 10, http_status=429))
    assert breaker_state(offline) == Breaker.UP


def test_on_trial_one_answer_closes_it_and_one_failure_opens_it_again(offline, settings):
    provider_calls_record(provider=offline, records=calls("unavailable", 5))
    later = timezone.now() + timedelta(seconds=settings.BREAKER_COOLOFF_SECONDS + 1)
    assert breaker_trial_take(offline, now=later) and not breaker_trial_take(offline, now=later)
    stale = later + timedelta(seconds=settings.BREAKER_TRIAL_SECONDS + 1)
    assert breaker_trial_take(offline, now=stale)  # an unanswered trial lets another go

    assert breaker_record(provider=offline, records=calls("unavailable"), now=stale) == Breaker.DOWN
    again = stale + timedelta(seconds=settings.BREAKER_COOLOFF_SECONDS + 1)
    assert breaker_record(provider=offline, records=calls("rejected"), now=again) == Breaker.UP  # answered
    offline.refresh_from_db()
    assert (offline.down_until, offline.trial_since, offline.up_since) == (None, None, again)
    # The failures before it came back are judged: one more does not open it again.
    provider_calls_record(provider=offline, records=calls("unavailable"))
    assert breaker_state(offline) == Breaker.UP


def test_by_hand_it_stays_down_until_marked_up_and_both_are_audited(offline, settings):
    owner = member("Owner")
    provider_mark_down(provider=offline, actor=owner, reason="their panel is migrating")
    offline.refresh_from_db()
    much_later = timezone.now() + timedelta(days=1)
    assert breaker_state(offline, now=much_later) == Breaker.BY_HAND
    assert not breaker_trial_take(offline, now=much_later)
    provider_calls_record(provider=offline, records=calls("ok"))
    assert breaker_state(offline) == Breaker.BY_HAND  # an answer does not undo an operator's decision

    provider_mark_up(provider=offline, actor=owner)
    offline.refresh_from_db()
    assert breaker_state(offline) == Breaker.UP
    rows = AuditEntry.objects.filter(target_id=str(offline.pk)).order_by("pk")
    assert [(row.action, row.actor, row.reason) for row in rows.exclude(action="panels.provider.add")] == [
        ("panels.provider.mark_down", owner, "their panel is migrating"),
        ("panels.provider.mark_up", owner, ""),
    ]
    assert rows.last().changes["state"] == [Breaker.BY_HAND, Breaker.UP]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_of_many_dispatchers_at_once_exactly_one_takes_the_trial(offline):
    Provider.objects.filter(pk=offline.pk).update(down_until=timezone.now() - timedelta(seconds=1))
    start, taken = threading.Barrier(8), []

    def take():
        start.wait()
        try:
            taken.append(breaker_trial_take(Provider.objects.get(pk=offline.pk)))
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [False] * 7 + [True]
