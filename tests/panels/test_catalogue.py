"""The catalogue mirror, driven against the simulator over real HTTP."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from panels.catalogue import CatalogueRefused, catalogue_sync
from panels.client import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from panels.models import ProviderService, ProviderServiceChange, SyncRun


def mirror(provider):
    return {s.remote_id: s for s in ProviderService.objects.filter(provider=provider)}


def test_first_sync_mirrors_every_service(provider, simulator):
    result = catalogue_sync(provider=provider)

    rows = mirror(provider)
    assert len(result.created) == len(rows) > 0
    assert result.changed == [] and result.paused == [] and result.invalid == []
    assert all(row.active and row.is_new for row in rows.values())
    assert {row.type for row in rows.values()} >= {"Default", "Package", "Custom Comments", "Subscriptions"}
    sample = next(iter(rows.values()))
    assert isinstance(sample.rate, Decimal)
    assert sample.raw["service"] is not None
    run = SyncRun.objects.get(provider=provider, kind=SyncRun.Kind.CATALOGUE)
    assert run.ok is True and run.created == len(rows)
    assert len(simulator.sim.services_list()) == len(rows)


def test_second_sync_changes_nothing_but_last_seen(provider):
    catalogue_sync(provider=provider)
    before = mirror(provider)

    result = catalogue_sync(provider=provider)

    after = mirror(provider)
    assert result.created == result.changed == result.paused == result.resumed == []
    assert result.unchanged == len(before)
    assert all(after[key].last_seen_at > before[key].last_seen_at for key in before)
    assert not ProviderServiceChange.objects.exists()


def test_rate_and_limits_changes_are_kept_as_history(provider, simulator):
    catalogue_sync(provider=provider)
    service_id = next(iter(mirror(provider)))
    old = mirror(provider)[service_id]

    simulator.sim.set_service(service_id, rate=Decimal("1.23456789"), min=7, max=777)
    result = catalogue_sync(provider=provider)

    assert result.changed == [service_id]
    row = mirror(provider)[service_id]
    assert (row.rate, row.min_quantity, row.max_quantity) == (Decimal("1.23456789"), 7, 777)
    change = ProviderServiceChange.objects.get(service=row)
    assert (change.old_rate, change.new_rate) == (old.rate, Decimal("1.23456789"))
    assert (change.old_min, change.new_min, change.old_max, change.new_max) == (
        old.min_quantity,
        7,
        old.max_quantity,
        777,
    )
    # Same values again: no new history.
    catalogue_sync(provider=provider)
    assert ProviderServiceChange.objects.count() == 1


def test_vanished_services_are_paused_never_deleted_and_resume(provider, simulator):
    catalogue_sync(provider=provider)
    service_id = next(iter(mirror(provider)))

    simulator.sim.remove_service(service_id)
    result = catalogue_sync(provider=provider)
    row = mirror(provider)[service_id]
    assert result.paused == [service_id]
    assert row.active is False and row.vanished_at is not None

    simulator.sim.restore_service(service_id)
    result = catalogue_sync(provider=provider)
    row = mirror(provider)[service_id]
    assert result.resumed == [service_id]
    assert row.active is True and row.vanished_at is None
    assert ProviderService.objects.filter(provider=provider).count() == len(mirror(provider))


def test_new_upstream_services_are_flagged_and_reviewed_flag_survives_sync(provider, simulator):
    catalogue_sync(provider=provider)
    ProviderService.objects.filter(provider=provider).update(is_new=False)

    simulator.sim.add_services(3)
    result = catalogue_sync(provider=provider)

    assert len(result.created) == 3
    flagged = ProviderService.objects.filter(provider=provider, is_new=True)
    assert sorted(flagged.values_list("remote_id", flat=True)) == sorted(result.created)


def _catalogue_snapshot(provider):
    return sorted(
        ProviderService.objects.filter(provider=provider).values_list(
            "remote_id", "rate", "min_quantity", "max_quantity", "active", "last_seen_at"
        )
    )


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("html", ProviderOutcomeUnknown),
        ("empty", ProviderOutcomeUnknown),
        ("truncated", ProviderOutcomeUnknown),
        ("http_500", ProviderOutcomeUnknown),
        ("cloudflare", ProviderOutcomeUnknown),
        ("rate_limit", ProviderUnavailable),
        ("slow", ProviderOutcomeUnknown),
    ],
)
def test_a_bad_answer_leaves_the_previous_catalogue_intact(provider, simulator, fault, error):
    provider.read_timeout = Decimal(1)  # "slow" answers after 1.5 s
    provider.save()
    catalogue_sync(provider=provider)
    before = _catalogue_snapshot(provider)
    simulator.sim.remove_service(next(iter(mirror(provider))))  # would pause one if it were applied

    simulator.sim.set_fault(fault, action="services", delay=1.5)
    with pytest.raises(error) as caught:
        catalogue_sync(provider=provider)

    assert _catalogue_snapshot(provider) == before
    run = SyncRun.objects.filter(provider=provider).first()
    assert run.ok is False and run.error == str(caught.value)
    assert provider.api_key not in run.error


def test_a_wrong_key_is_a_clear_rejection(make_provider, simulator):
    provider = make_provider(simulator)
    provider.api_key = "not-the-right-key-0000"
    provider.save()

    with pytest.raises(ProviderRejected) as caught:
        catalogue_sync(provider=provider)

    assert caught.value.is_auth_error
    assert "Invalid API key" in str(caught.value)
    assert "not-the-right-key-0000" not in str(caught.value)
    assert not ProviderService.objects.exists()


def test_a_wrong_url_is_a_clear_error(make_provider, simulator):
    provider = make_provider(simulator)
    provider.api_url = simulator.url.replace("/api/v2", "/nowhere")
    provider.save()

    with pytest.raises((ProviderOutcomeUnknown, ProviderRejected)) as caught:
        catalogue_sync(provider=provider)

    assert "HTTP 404" in str(caught.value) or "said" in str(caught.value)
    assert not ProviderService.objects.exists()


def test_nobody_listening_is_unavailable(make_provider, simulator, unused_tcp_port):
    provider = make_provider(simulator)
    provider.api_url = f"http://127.0.0.1:{unused_tcp_port}/api/v2"
    provider.save()

    with pytest.raises(ProviderUnavailable, match="nothing was sent"):
        catalogue_sync(provider=provider)


def test_an_empty_list_is_refused_while_services_are_active(provider, simulator):
    catalogue_sync(provider=provider)
    for remote_id in list(mirror(provider)):
        simulator.sim.remove_service(remote_id)

    with pytest.raises(CatalogueRefused):
        catalogue_sync(provider=provider)
    assert all(row.active for row in mirror(provider).values())

    result = catalogue_sync(provider=provider, allow_empty=True)
    assert len(result.paused) == len(mirror(provider))


def test_quirky_catalogue_is_read_correctly(make_simulator, make_provider):
    server = make_simulator(
        "smmcloud", numbers_as_numbers=True, flags_style="01", lowercase_types=True, extra_fields=True
    )
    provider = make_provider(server)

    catalogue_sync(provider=provider)

    rows = mirror(provider).values()
    assert {row.type for row in rows} >= {"Default", "Package", "Custom Comments"}
    assert any(row.refill for row in rows) and any(not row.refill for row in rows)
    assert all(isinstance(row.rate, Decimal) for row in rows)


def test_missing_flags_mean_false(make_simulator, make_provider):
    provider = make_provider(make_simulator("smmcool", flags_style="missing"))

    catalogue_sync(provider=provider)

    rows = mirror(provider).values()
    assert not any(row.refill or row.cancel for row in rows)
    # dripfeed is in neither API v2 document: missing means "not stated", not false.
    assert all(row.dripfeed is None for row in rows)


def test_two_providers_have_separate_mirrors(make_simulator, make_provider):
    cloud = make_provider(make_simulator("smmcloud"), name="cloud")
    cool = make_provider(make_simulator("smmcool"), name="cool")

    catalogue_sync(provider=cloud)
    catalogue_sync(provider=cool)

    assert {row.type for row in mirror(cool).values()} >= {"Poll", "Mentions User Followers"}
    assert "Poll" not in {row.type for row in mirror(cloud).values()}


def test_sync_queries_do_not_grow_with_the_catalogue(make_simulator, make_provider):
    def queries_for(extra_services, name):
        server = make_simulator("smmcloud")
        server.sim.add_services(extra_services)
        provider = make_provider(server, name=name)
        with CaptureQueriesContext(connection) as first:
            catalogue_sync(provider=provider)
        for remote_id in list(mirror(provider))[:5]:
            server.sim.set_service(remote_id, rate=Decimal("9.99"))
        server.sim.remove_service(list(mirror(provider))[-1])
        with CaptureQueriesContext(connection) as second:
            result = catalogue_sync(provider=provider)
        assert len(result.changed) == 5 and len(result.paused) == 1
        return len(first), len(second)

    small = queries_for(20, "small")
    large = queries_for(600, "large")
    if connection.vendor == "postgresql":
        assert small == large
    else:  # SQLite caps the parameters of one statement, so bulk writes come in batches
        assert large[1] <= small[1] + 3
