"""Periodic provider work: it fans out per provider, never overlaps, and records failures."""

from panels import tasks
from panels.models import Provider, ProviderService, SyncRun
from reseller.celery import app
from reseller.locks import exclusive


def test_schedule_is_declared_for_every_periodic_task():
    from django.conf import settings

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "panels.tasks.sync_all_catalogues",
        "panels.tasks.sync_all_balances",
        "panels.tasks.prune_provider_calls",
        "orders.tasks.sync_all_order_statuses",
        "orders.tasks.sweep_orders",
        "orders.tasks.auto_refill_all",
        "orders.tasks.tally_orders",
        "api.tasks.prune_api_requests",
        "accounts.tasks.prune_unconfirmed_sign_ups",
        "storefront.tasks.prune_form_submissions",
        "console.tasks.heartbeat",
        "notifications.tasks.check_notifications",
        "notifications.tasks.prune_notifications",
        "webhooks.tasks.sweep_webhooks",
        "webhooks.tasks.prune_webhook_deliveries",
    }
    app.loader.import_default_modules()  # what a worker does at start: import every app's tasks
    assert scheduled <= set(app.tasks)


def test_sync_all_covers_enabled_providers_only(eager_celery, make_provider, make_simulator):
    enabled = make_provider(make_simulator("smmcloud"), name="on")
    disabled = make_provider(make_simulator("smmcool"), name="off", enabled=False)

    tasks.sync_all_catalogues.delay()
    tasks.sync_all_balances.delay()

    assert ProviderService.objects.filter(provider=enabled).exists()
    assert not ProviderService.objects.filter(provider=disabled).exists()
    enabled.refresh_from_db()
    assert enabled.balance is not None
    assert not SyncRun.objects.filter(provider=disabled).exists()


def test_an_overlapping_run_is_skipped(provider):
    with exclusive(f"catalogue-sync:{provider.pk}", lease=60) as acquired:
        assert acquired
        tasks.sync_catalogue(provider.pk)
    assert not SyncRun.objects.exists()

    tasks.sync_catalogue(provider.pk)
    assert SyncRun.objects.get().ok


def test_a_failing_provider_is_recorded_not_raised(provider, simulator):
    simulator.sim.set_fault("http_500")

    tasks.sync_catalogue(provider.pk)
    tasks.sync_balance(provider.pk)

    assert set(SyncRun.objects.values_list("kind", "ok")) == {("balance", False), ("catalogue", False)}
    assert Provider.objects.get().balance is None
