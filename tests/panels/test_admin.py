"""The operator's console: provider forms never show keys back; actions report in plain words."""

import re

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from orders.services import order_submit
from panels.catalogue import catalogue_sync
from panels.models import Provider, ProviderCall, ProviderService, SyncRun
from tests.panels.support import run_action
from tests.staff import staff

S = Order.Status


def test_admin_is_staff_only(client, db):
    client.force_login(User.objects.create_user("customer", password="pw"))
    response = client.get(reverse("admin:panels_provider_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_adding_a_provider_in_the_admin(operator_client, simulator):
    response = operator_client.post(
        reverse("admin:panels_provider_add"),
        {
            "name": "Cloud",
            "api_url": simulator.url.removesuffix("/api/v2"),
            "api_key": simulator.key,
            "key_header": "",
            "enabled": "on",
            "low_balance_threshold": "10",
            "connect_timeout": "5",
            "read_timeout": "5",
            "calls_per_minute": "600",
            "send_concurrency": "4",
            "dripfeed": "documented",
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get()
    assert provider.api_url == simulator.url and provider.api_key == simulator.key
    assert provider.dripfeed == Provider.Dripfeed.DOCUMENTED

    page = operator_client.get(reverse("admin:panels_provider_change", args=[provider.pk])).content.decode()
    assert simulator.key not in page
    assert provider.masked_key in page
    assert 'name="dripfeed"' in page  # the operator's drip-feed switch


def test_editing_without_a_key_keeps_the_stored_one(operator_client, provider):
    url = reverse("admin:panels_provider_change", args=[provider.pk])
    response = operator_client.post(
        url,
        {
            "name": provider.name,
            "api_url": provider.api_url,
            "api_key": "",
            "key_header": "",
            "enabled": "on",
            "low_balance_threshold": "0",
            "connect_timeout": "5",
            "read_timeout": "5",
            "calls_per_minute": "60",
            "send_concurrency": "4",
            "dripfeed": "documented",
            "notes": "renamed nothing",
        },
    )
    assert response.status_code == 302
    old_key = provider.api_key
    provider.refresh_from_db()
    assert provider.api_key == old_key and provider.notes == "renamed nothing"


def test_a_new_url_needs_the_key_again(operator_client, provider):
    url = reverse("admin:panels_provider_change", args=[provider.pk])
    form = {
        "name": provider.name,
        "api_url": "https://elsewhere.example",
        "api_key": "",
        "key_header": "",
        "enabled": "on",
        "low_balance_threshold": "0",
        "connect_timeout": "5",
        "read_timeout": "5",
        "calls_per_minute": "60",
        "send_concurrency": "4",
        "dripfeed": "documented",
        "notes": "",
    }
    response = operator_client.post(url, form)
    assert response.status_code == 200
    assert "The API URL changed: enter the API key again" in response.content.decode()
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.api_url, stored.api_key) == (provider.api_url, provider.api_key)

    assert operator_client.post(url, {**form, "api_key": "sk-elsewhere-0001"}).status_code == 302
    stored.refresh_from_db()
    assert (stored.api_url, stored.api_key) == ("https://elsewhere.example/api/v2", "sk-elsewhere-0001")


def test_a_bad_url_is_explained_in_the_form(operator_client, db):
    response = operator_client.post(
        reverse("admin:panels_provider_add"),
        {
            "name": "X",
            "api_url": "ftp://x.example",
            "api_key": "k" * 20,
            "calls_per_minute": "60",
            "send_concurrency": "4",
            "connect_timeout": "5",
            "read_timeout": "5",
            "low_balance_threshold": "0",
        },
    )
    assert response.status_code == 200
    assert "Enter a valid URL" in response.content.decode() or "http" in response.content.decode()
    assert not Provider.objects.exists()


def test_actions_test_connection_and_syncs(operator_client, provider, simulator):
    balance = f"{simulator.sim.balance:.5f}"  # as the provider writes it
    assert run_action(operator_client, "test_connection", provider) == [
        f"{provider.name}: Connected; balance {balance} USD"
    ]
    [message] = run_action(operator_client, "sync_catalogue", provider)
    assert f"{ProviderService.objects.count()} new" in message
    [message] = run_action(operator_client, "sync_balance", provider)
    assert message == f"{provider.name}: balance {balance} USD"


def test_failing_action_shows_a_clear_message_without_the_key(operator_client, provider, simulator):
    simulator.sim.set_fault("cloudflare")
    [message] = run_action(operator_client, "sync_catalogue", provider)
    assert message.startswith(f"{provider.name}: The provider answered HTTP")
    assert simulator.key not in message


def test_changelists_show_health_with_constant_queries(
    operator_client, make_provider, make_simulator, django_assert_max_num_queries
):
    for index in range(3):
        provider = make_provider(make_simulator("smmcool"), name=f"P{index}")
        catalogue_sync(provider=provider)
    ProviderCall.objects.filter(provider__name="P0").update(outcome="unknown")

    with django_assert_max_num_queries(12):
        page = operator_client.get(reverse("admin:panels_provider_changelist")).content.decode()
    assert "100% of 1" in page  # P0's one call failed
    assert "0% of 1" in page

    for name in ["panels_providerservice", "panels_providercall", "panels_syncrun"]:
        assert operator_client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    service = ProviderService.objects.first()
    assert (
        operator_client.get(reverse("admin:panels_providerservice_change", args=[service.pk])).status_code
        == 200
    )


def test_provider_list_shows_each_kind_of_sync(client, placed):
    provider = placed.provider  # its balance and catalogue were synced by the shop fixture
    now = timezone.now()
    SyncRun.objects.create(
        provider=provider,
        kind=SyncRun.Kind.STATUS,
        started_at=now,
        finished_at=now,
        ok=False,
        error="Provider answered HTML",
    )
    staff(client, "olive", "Owner")
    page = client.get("/admin/panels/provider/").content.decode()
    # Synced a moment ago: "now" within the second, "N seconds ago" on a slow machine.
    moment = r"(now|a\ssecond\sago|\d+\sseconds\sago)"
    assert re.search(rf"Catalogue: {moment} ✓", page) and re.search(rf"Balance: {moment} ✓", page)
    assert re.search(
        rf'Order statuses: {moment} <span class="bad" title="Provider answered HTML">failed', page
    )


def test_order_statuses_synced_now_from_the_provider_list(client, placed, eager_celery, monkeypatch):
    from orders.tasks import sync_order_statuses

    order = placed()
    order_submit(order_id=order.pk)
    placed.server.sim.advance()  # the provider moves the order on; we learn it at the next sync
    staff(client, "olive", "Owner")
    sync_now = {"action": "sync_statuses", "_selected_action": [placed.provider.pk]}
    page = client.post("/admin/panels/provider/", sync_now, follow=True).content.decode()
    assert "Smmcloud: status sync queued" in page
    run = SyncRun.objects.get(provider=placed.provider, kind=SyncRun.Kind.STATUS)
    assert run.ok and "1 orders checked in 1 calls, 1 moved" in run.summary
    assert Order.objects.get(pk=order.pk).status == S.IN_PROGRESS

    def broker_down(*args):
        raise OSError("Error connecting to redis://:hunter2@broker:6379")

    monkeypatch.setattr(sync_order_statuses, "delay", broker_down)
    page = client.post("/admin/panels/provider/", sync_now, follow=True).content.decode()
    assert "could not queue the sync: the task broker is not answering" in page and "hunter2" not in page

    placed.provider.enabled = False
    placed.provider.save()
    page = client.post("/admin/panels/provider/", sync_now, follow=True).content.decode()
    assert "Smmcloud: disabled, not synced." in page
    assert SyncRun.objects.filter(kind=SyncRun.Kind.STATUS).count() == 1


def test_new_provider_services_marked_reviewed(client, placed):
    fresh = ProviderService.objects.filter(provider=placed.provider, is_new=True)
    chosen = list(fresh.values_list("pk", flat=True)[:3])
    assert len(chosen) == 3
    staff(client, "olive", "Owner")
    client.post("/admin/panels/providerservice/", {"action": "mark_reviewed", "_selected_action": chosen})
    assert not ProviderService.objects.filter(pk__in=chosen, is_new=True).exists()
    assert fresh.exists()  # the others stay flagged
