"""A fresh embedded install works after ``manage.py migrate`` alone: nothing else to remember (the database
cache table included); an existing database comes through the migrations that move models between apps."""

import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalogue.models import CustomerServicePrice, Service
from console.roles import roles_sync
from orders.models import Order
from panels.models import ProviderService
from panels.services import provider_upsert

ROOT = Path(__file__).resolve().parent.parent

# A reseller's first calls, with a wrong key and with a good one (the per-key throttle counts in the cache).
FIRST_CALLS = """
import json
from django.test import Client
from accounts.services import customer_sign_up
from api.services import api_key_issue

_, key = api_key_issue(user=customer_sign_up(username="first", email="first@example.com", password="pw-Long-1"))
client = Client(raise_request_exception=False, HTTP_HOST="localhost")
answers = [client.post("/api/v2", {"key": k, "action": "balance"}) for k in ("not-a-key", key)]
print(json.dumps([[answer.status_code, answer.content.decode()[:300]] for answer in answers]))
"""


def _manage(tmp_path: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),  # embedded defaults: no DATABASE_URL, no REDIS_URL
        "DJANGO_SETTINGS_MODULE": "reseller.settings.local",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_migrate_alone_gives_a_working_api(tmp_path):
    _manage(tmp_path, "migrate", "--verbosity", "0")
    output = _manage(tmp_path, "shell", "--no-imports", "-c", FIRST_CALLS)
    (bad_status, bad_body), (good_status, good_body) = json.loads(output.strip().splitlines()[-1])
    assert (bad_status, json.loads(bad_body)) == (200, {"error": "Invalid API key"})
    assert (good_status, json.loads(good_body)) == (200, {"balance": "0.00", "currency": "USD"})


# The catalogue's models moved out of ``orders`` (catalogue 0001/0002, orders 0008): a database migrated
# before the move, with rows and permissions, comes through with both.
BEFORE_THE_MOVE = [("orders", "0007_service_dripfeed_override"), ("catalogue", None)]


def _migrated_to(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    executor = MigrationExecutor(connection)  # a fresh loader: it reads what is applied now
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        # Back at the end, what ``migrate`` then does: among it, making again the tally's triggers, which SQLite
        # dropped when a migration rebuilt the orders table (the later tests of this database count on them).
        emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    return executor


@pytest.mark.django_db(transaction=True)
def test_the_catalogue_move_keeps_rows_permissions_and_roles():
    executor = _migrated_to(BEFORE_THE_MOVE)
    old = executor.loader.project_state(BEFORE_THE_MOVE[0]).apps
    assert ContentType.objects.filter(app_label="orders", model="service").exists()
    # (Models added to the catalogue later, like its service routes, keep a stale content type: Django's way.)
    moved = ["service", "markuprule", "currencyrate", "customerpricing", "customerserviceprice"]
    assert not ContentType.objects.filter(app_label="catalogue", model__in=moved).exists()
    provider, _ = provider_upsert(name="Old provider", api_url="http://127.0.0.1:9/api/v2", api_key="k" * 16)
    upstream = ProviderService.objects.create(
        provider=provider,
        remote_id="1",
        name="Followers",
        type="Default",
        rate=D("1"),
        min_quantity=10,
        max_quantity=1000,
    )
    service = old.get_model("orders", "Service").objects.create(
        name="Followers",
        category="Instagram",
        type="Default",
        provider_service_id=upstream.pk,
        min_quantity=10,
        max_quantity=1000,
        price=D("1.5"),
    )
    customer = User.objects.create_user("buyer")
    old.get_model("orders", "CustomerServicePrice").objects.create(
        user_id=customer.pk, service_id=service.pk, price=D("1.4")
    )
    order = old.get_model("orders", "Order").objects.create(
        user_id=customer.pk,
        service_id=service.pk,
        provider_id=provider.pk,
        provider_service_id=upstream.pk,
        type="Default",
        link="https://x.example/a",
        fields={},
        units=100,
        price=D("1.5"),
        charge=D("0.15"),
    )
    roles_sync(old)  # the roles as they stood: the Owner holds orders.change_service
    owner = User.objects.create_user("owner", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    support = User.objects.create_user("support", is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    granted = User.objects.create_user("granted", is_staff=True)  # a permission given by hand, not by a role
    granted.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_service")
    )
    assert User.objects.get(pk=owner.pk).has_perm("orders.change_service")

    executor = _migrated_to(executor.loader.graph.leaf_nodes())  # the move, and nothing else runs here

    assert not executor.migration_plan(executor.loader.graph.leaf_nodes())
    moved = Service.objects.get(pk=service.pk)
    assert (moved.name, moved.price, moved.provider_service_id) == ("Followers", D("1.5"), upstream.pk)
    assert Order.objects.get(pk=order.pk).service == moved
    assert CustomerServicePrice.objects.get(user=customer).service == moved
    assert not ContentType.objects.filter(
        app_label="orders", model__in=["service", "markuprule", "currencyrate", "customerpricing"]
    ).exists()
    owner, support, granted = (User.objects.get(pk=user.pk) for user in (owner, support, granted))
    assert owner.has_perms(["catalogue.add_service", "catalogue.change_markuprule", "orders.change_order"])
    assert not support.has_perm("catalogue.view_service") and support.has_perm("orders.change_order")
    assert granted.has_perm("catalogue.view_service") and not granted.has_perm("catalogue.change_service")
    roles_sync()  # as after every migrate: nothing is lost, nothing stale is left
    assert User.objects.get(pk=owner.pk).has_perm("catalogue.delete_customerserviceprice")


@pytest.mark.django_db(transaction=True)
def test_every_service_before_routes_gets_one_route_its_provider_service():
    """Issue 17 (catalogue 0005): a service sold before routes is sold from the same provider service after."""
    before = [("catalogue", "0004_service_routes")]
    executor = _migrated_to(before)
    old = executor.loader.project_state(before[0]).apps
    provider, _ = provider_upsert(name="Old provider", api_url="http://127.0.0.1:9/api/v2", api_key="k" * 16)
    upstream = ProviderService.objects.create(
        provider=provider, remote_id="1", name="Followers", type="Default", rate=D("1"), min_quantity=10,
        max_quantity=1000,
    )  # fmt: skip
    service = old.get_model("catalogue", "Service").objects.create(
        name="Followers", category="Instagram", type="Default", provider_service_id=upstream.pk,
        min_quantity=10, max_quantity=1000, price=D("1.5"),
    )  # fmt: skip

    _migrated_to(executor.loader.graph.leaf_nodes())

    routes = list(
        Service.objects.get(pk=service.pk).routes.values_list("provider_service", "position", "enabled")
    )
    assert routes == [(upstream.pk, 0, True)]
