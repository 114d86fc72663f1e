"""Every admin page, custom view and action, for each role: what Owner and Support may do, and that the rest
is refused over HTTP. A model page or action added later fails here until its role is decided."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from billing.services import account_for
from tests.console.support import actions_for, label
from tests.staff import member

pytestmark = pytest.mark.django_db

# What Support staff reach: orders (and their resolution), customers and their keys, read-only.
SUPPORT = {
    # Resolving what moves no money (resend, mark resolved, figures by hand); never a refund by hand —
    # refund, settle, finish, cancel placed: balances are the Owner's (``moves_money``) — nor choosing a
    # provider service (providers are hidden from Support).
    "orders.order": {"resend", "mark_resolved", "set_figures"},
    "orders.orderevent": set(),
    "orders.refill": {"attach", "close"},
    "auth.user": set(),
    "accounts.profile": set(),
    "api.apikey": set(),
    "api.apirequest": set(),
    # Unlocking a customer locked out by failed logins.
    "axes.accessattempt": {"cleanup_expired_attempts", "delete_selected"},
    "audit.auditentry": set(),  # its own rows
    # Answering tickets (their own pages: reply, note, assign, close, carry out); canned replies kept up to
    # date, never deleted.
    "support.ticket": set(),
    "support.cannedreply": set(),
    # Posting announcements (an outage, a delay); never the terms, FAQ and privacy pages or price updates.
    "content.announcement": {"delete_selected"},
}
# The Owner's actions on every model page (Django's own bulk delete only where deleting is allowed).
OWNER = {
    "panels.provider": {
        "test_connection",
        "sync_catalogue",
        "sync_balance",
        "sync_statuses",
        "register_webhook",
        "mark_down",
        "mark_up",
        "delete_selected",
    },
    "panels.providerservice": {"mark_reviewed", "publish"},
    "panels.syncrun": set(),
    "panels.providercall": set(),
    "catalogue.service": {"take_off_sale", "put_back_on_sale", "reprice", "move", "delete_selected"},
    "catalogue.markuprule": {"delete_selected"},
    "catalogue.currencyrate": {"delete_selected"},
    "catalogue.customerpricing": {"delete_selected"},
    "catalogue.customerserviceprice": {"delete_selected"},
    "orders.order": {
        "resend",
        "refund",
        "mark_resolved",
        "settle",
        "set_figures",
        "finish",
        "cancel_placed",
        "resend_to",
    },
    "orders.orderevent": set(),
    "orders.refill": {"attach", "close"},
    "billing.account": set(),
    "billing.ledgerentry": set(),
    "billing.topup": {"approve", "reject"},
    "billing.paymentnotification": set(),
    "billing.paymentmethod": {"delete_selected"},
    # Referrals: the rate override is the one field edited (no deleting); payouts decided by actions.
    "referrals.affiliate": set(),
    "referrals.referral": set(),
    "referrals.affiliateentry": set(),
    "referrals.affiliatepayout": {"approve", "reject"},
    "auth.user": {"disable", "enable", "delete_selected"},
    "accounts.profile": {"delete_selected"},
    "api.apikey": {"revoke"},
    "api.apirequest": set(),
    "auth.group": {"delete_selected"},
    "django_celery_beat.periodictask": {
        "enable_tasks",
        "disable_tasks",
        "toggle_tasks",
        "run_tasks",
        "delete_selected",
    },
    "django_celery_beat.clockedschedule": {"delete_selected"},
    "django_celery_beat.crontabschedule": {"delete_selected"},
    "django_celery_beat.solarschedule": {"delete_selected"},
    "django_celery_beat.intervalschedule": {"delete_selected"},
    "axes.accessattempt": {"cleanup_expired_attempts", "delete_selected"},
    "axes.accesslog": {"delete_selected"},
    "axes.accessfailurelog": {"delete_selected"},
    # Two-factor devices (secrets and recovery codes never shown): removing one resets a lost phone.
    "otp_totp.totpdevice": {"delete_selected"},
    "otp_static.staticdevice": {"delete_selected"},
    "audit.auditentry": set(),
    "support.ticket": set(),
    "support.cannedreply": {"delete_selected"},
    # Notifications: the settings (one row, no deleting), the alerts and the customer log (read-only).
    "notifications.operatorsettings": {"send_test_alert"},
    "notifications.operatoralert": set(),
    "notifications.notification": set(),
    # Customers' webhooks: the URL is the customer's; the operator may rotate the secret or remove it.
    "webhooks.endpoint": {"rotate_secret", "remove"},
    "webhooks.delivery": set(),
    "webhooks.upstreamwebhook": set(),
    "content.announcement": {"delete_selected"},
    "content.serviceupdate": {"delete_selected"},  # removing a misprint's updates from the customers' page
    "content.page": {"delete_selected"},
    "content.branding": set(),  # one row, never deleted; the Owner's alone
}


# The console's own pages (console/urls.py), and which roles reach each: a page added later fails
# ``test_every_console_page_has_its_roles_decided`` until it has a row.
CONSOLE_PAGES = {
    "dashboard": {"Owner"},  # money and providers
    "review": {"Owner", "Support"},
    "customer": {"Owner", "Support"},  # each section by its own permission (console.customers.SECTIONS)
}


def console_url(name: str, customer) -> str:
    return reverse(f"console:{name}", kwargs={"pk": customer.pk} if name == "customer" else {})


def changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def test_every_model_page_has_its_roles_decided():
    registered = {label(model) for model in admin.site._registry}
    assert registered == set(OWNER), "a model page was added or removed: decide who may use it"
    assert set(SUPPORT) <= registered


@pytest.mark.parametrize(("role", "expected"), [("Owner", OWNER), ("Support", SUPPORT)])
def test_each_role_sees_its_model_pages_and_no_others(client, role, expected):
    client.force_login(member(role))
    for model in admin.site._registry:
        status = client.get(changelist(model)).status_code
        assert status == (200 if label(model) in expected else 403), (role, label(model), status)


@pytest.mark.parametrize(("role", "expected"), [("Owner", OWNER), ("Support", SUPPORT)])
def test_each_role_gets_exactly_its_actions(role, expected):
    user = member(role)
    for model, model_admin in admin.site._registry.items():
        if label(model) in expected:
            assert actions_for(user, model_admin) == expected[label(model)], (role, label(model))


def test_every_console_page_has_its_roles_decided():
    from console.urls import urlpatterns

    assert {pattern.name for pattern in urlpatterns} == set(CONSOLE_PAGES), "decide who may use it"


@pytest.mark.parametrize("role", ["Owner", "Support"])
def test_each_role_reaches_its_console_pages_and_no_others(client, customer, role):
    client.force_login(member(role))
    for name, roles in CONSOLE_PAGES.items():
        status = client.get(console_url(name, customer)).status_code
        assert status == (200 if role in roles else 403), (role, name, status)


def test_support_cannot_run_owner_actions_by_posting_them(client, customer):
    """Hidden actions are refused, not merely hidden: a hand-made POST changes nothing."""
    from api.services import api_key_issue

    key, _ = api_key_issue(user=customer)
    client.force_login(member("Support"))
    for path, action, pk in [
        ("/admin/auth/user/", "disable", customer.pk),
        ("/admin/api/apikey/", "revoke", key.pk),
    ]:
        assert client.post(path, {"action": action, "_selected_action": [pk]}).status_code == 200
    customer.refresh_from_db()
    key.refresh_from_db()
    assert customer.is_active and key.revoked_at is None


def test_owner_only_pages_beyond_model_pages(client, customer):
    account = account_for(customer)
    adjust = f"/admin/billing/account/{account.pk}/adjust/"
    support = member("Support")
    client.force_login(support)
    assert client.get("/admin/console/dashboard/").status_code == 403
    assert client.get("/admin/console/review/").status_code == 200
    assert client.post(adjust, {"amount": "5", "reason": "x"}).status_code in (302, 403)
    assert account_for(customer).balance == account.balance
    index = client.get("/admin/").content.decode()
    assert "Needs review" in index and "/admin/console/dashboard/" not in index

    client.force_login(member("Owner"))
    assert client.get("/admin/console/dashboard/").status_code == 200
    assert client.get(adjust).status_code == 200
    assert "/admin/console/dashboard/" in client.get("/admin/").content.decode()


def test_staff_without_a_role_and_customers_get_nothing(client, customer):
    nobody = User.objects.create_user("newhire", password="pw", is_staff=True)
    client.force_login(nobody)
    for model in admin.site._registry:
        assert client.get(changelist(model)).status_code == 403, label(model)
    for name in CONSOLE_PAGES:
        assert client.get(console_url(name, customer)).status_code == 403, name
    client.force_login(customer)
    pages = [console_url(name, customer) for name in CONSOLE_PAGES]
    for path in ["/admin/", *pages, "/admin/orders/order/"]:
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path
