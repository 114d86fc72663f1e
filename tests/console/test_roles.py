"""The operator console's roles: what Support reaches and is refused, and that the Owner runs everything."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from catalogue.models import Service
from orders.models import Order
from tests.staff import staff

pytestmark = pytest.mark.django_db
S = Order.Status


def test_support_sees_orders_and_customers_but_no_prices_providers_or_balances(client, placed):
    order = placed()
    staff(client, "sue", "Support")
    for path in [
        "/admin/orders/order/",
        "/admin/auth/user/",
        "/admin/orders/refill/",
        "/admin/console/review/",
    ]:
        assert client.get(path).status_code == 200, path
    for path in [
        "/admin/catalogue/service/",
        "/admin/catalogue/markuprule/",
        "/admin/panels/provider/",
        "/admin/billing/account/",
        "/admin/billing/topup/",
        "/admin/billing/ledgerentry/",
        "/admin/console/dashboard/",
    ]:
        assert client.get(path).status_code == 403, path
    assert "Balance" not in client.get("/admin/auth/user/").content.decode()
    customer_page = client.get(f"/admin/auth/user/{order.user_id}/change/")
    assert customer_page.status_code == 200 and "password/" not in customer_page.content.decode()
    service = placed.service
    response = client.post(
        "/admin/catalogue/service/",
        {
            "action": "reprice",
            "_selected_action": [service.pk],
            "confirmed": "1",
            "percent": "1",
            "fixed": "0",
            "rounding": "0.01",
        },
    )
    assert response.status_code == 403
    assert Service.objects.get(pk=service.pk).price == service.price


def test_owner_runs_everything(client, placed):
    staff(client, "olive", "Owner")
    for path in [
        "/admin/catalogue/service/",
        "/admin/panels/provider/",
        "/admin/billing/account/",
        "/admin/console/dashboard/",
        "/admin/console/review/",
    ]:
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db(transaction=True)
def test_the_roles_keep_the_permissions_of_every_app_after_a_flush():
    """A flush (between transactional tests) makes the permissions again app by app: the roles are synced
    once the last app's exist. The audit app comes after the console's: its pages were refused to both."""
    call_command("flush", verbosity=0, interactive=False)
    owner, support = Group.objects.get(name="Owner"), Group.objects.get(name="Support")
    assert owner.permissions.filter(content_type__app_label="audit", codename="view_auditentry").exists()
    assert support.permissions.filter(content_type__app_label="audit", codename="view_auditentry").exists()
