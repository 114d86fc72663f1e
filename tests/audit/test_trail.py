"""What the audit rows say: before → after of a change form and its inlines, never a secret's value; the
read-only trail page, Support's own rows only, and the link to it from an object's page."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from audit.models import AuditEntry
from audit.services import SECRET_AFTER, SECRET_BEFORE, audit_record
from catalogue.models import CustomerPricing, Service
from panels.models import Provider
from panels.services import provider_upsert
from tests.console.support import page_form
from tests.staff import member

pytestmark = pytest.mark.django_db

OLD_KEY = "old-provider-key-1234567890"
NEW_KEY = "new-provider-key-0987654321"


def everything_audited() -> str:
    return json.dumps(list(AuditEntry.objects.values()), default=str)


@pytest.fixture
def owner_client(client):
    owner = member("Owner")
    client.force_login(owner)
    client.user = owner
    return client


@pytest.fixture
def provider(db):
    provider, _ = provider_upsert(name="Upstream", api_url="https://up.example/api/v2", api_key=OLD_KEY)
    return provider


def test_a_provider_edit_says_the_key_changed_never_what_it_is(owner_client, provider):
    url = f"/admin/panels/provider/{provider.pk}/change/"
    data = page_form(owner_client, url, "api_url")
    data.update(api_url="https://other.example/api/v2", api_key=NEW_KEY, notes="moved")

    assert owner_client.post(url, data).status_code == 302

    row = AuditEntry.objects.get(action="panels.provider.change")
    assert row.actor == owner_client.user and row.target_id == str(provider.pk)
    assert row.changes == {
        "api_key": [SECRET_BEFORE, SECRET_AFTER],
        "api_url": ["https://up.example/api/v2", "https://other.example/api/v2"],
        "notes": ["", "moved"],
    }
    audited = everything_audited()
    assert OLD_KEY not in audited and NEW_KEY not in audited


def test_a_provider_edit_that_keeps_the_key_does_not_mention_it(owner_client, provider):
    url = f"/admin/panels/provider/{provider.pk}/change/"
    data = page_form(owner_client, url, "api_url")
    data.update(calls_per_minute="30")  # the key field is left empty: the stored key stays

    assert owner_client.post(url, data).status_code == 302

    assert AuditEntry.objects.get(action="panels.provider.change").changes == {"calls_per_minute": [60, 30]}


def test_a_save_that_changes_nothing_records_nothing(owner_client, provider):
    url = f"/admin/panels/provider/{provider.pk}/change/"
    assert owner_client.post(url, page_form(owner_client, url, "api_url")).status_code == 302
    assert not AuditEntry.objects.filter(action="panels.provider.change").exists()


def test_addprovider_and_its_service_record_the_key_as_changed_only(provider):
    provider_upsert(name="Upstream", api_url="https://up.example/api/v2", api_key=NEW_KEY)

    rows = AuditEntry.objects.filter(target_id=provider.pk).order_by("pk")
    assert [row.action for row in rows] == ["panels.provider.add", "panels.provider.change"]
    assert rows[1].changes == {"api_key": [SECRET_BEFORE, SECRET_AFTER]}
    assert rows[1].actor is None and rows[1].actor_name == ""  # a management command
    audited = everything_audited()
    assert OLD_KEY not in audited and NEW_KEY not in audited


def test_an_api_key_regenerated_is_named_by_its_prefix_only(client, customer):
    client.force_login(customer)
    first = client.post("/account/api/", {}).context["new_key"]
    second = client.post("/account/api/", {}).context["new_key"]

    rows = AuditEntry.objects.filter(actor=customer).order_by("pk")
    assert [row.action for row in rows] == ["api.apikey.issue", "api.apikey.revoke", "api.apikey.issue"]
    assert rows[2].changes == {"prefix": [None, second.partition(".")[0]]}
    audited = everything_audited()
    for raw in (first, second):
        assert raw not in audited and raw.partition(".")[2] not in audited


def test_a_password_changed_in_the_admin_is_recorded_without_it(owner_client, customer):
    url = f"/admin/auth/user/{customer.pk}/password/"
    response = owner_client.post(url, {"password1": "Ts7!long-enough-pw", "password2": "Ts7!long-enough-pw"})

    assert response.status_code == 302
    row = AuditEntry.objects.get(action="auth.user.change_password")
    assert row.changes == {"password": [SECRET_BEFORE, SECRET_AFTER]}
    customer.refresh_from_db()
    audited = everything_audited()
    assert "Ts7!long-enough-pw" not in audited and customer.password not in audited


def test_a_price_edit_records_before_and_after(owner_client, on_sale):
    service = on_sale(price="2.0000")
    url = f"/admin/catalogue/service/{service.pk}/change/"
    data = page_form(owner_client, url, "price")
    data.update(price="2.5", allow_loss="on")

    assert owner_client.post(url, data).status_code == 302

    row = AuditEntry.objects.get(action="catalogue.service.change")
    assert row.changes == {"price": ["2.0000", "2.5000"]}
    assert row.target_repr == str(Service.objects.get())


def test_a_customers_page_records_its_inlines(owner_client, customer):
    url = f"/admin/auth/user/{customer.pk}/change/"
    data = page_form(owner_client, url, "username")
    data["pricing-0-discount_percent"] = "5"
    data["pricing-0-allow_loss"] = "on"

    response = owner_client.post(url, data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    pricing = CustomerPricing.objects.get(user=customer)
    discount = AuditEntry.objects.get(action="catalogue.customerpricing.add")
    assert discount.target_id == str(pricing.pk) and discount.changes["discount_percent"] == [None, "5.00"]


def test_a_staff_members_page_records_their_groups(owner_client):
    # A customer's page has no groups (staff widgets are hidden on customers): a staff member's has.
    stan = User.objects.create_user("stan", password="x", is_staff=True)
    url = f"/admin/auth/user/{stan.pk}/change/"
    data = page_form(owner_client, url, "username")
    data["groups"] = [str(Group.objects.get(name="Support").pk)]

    response = owner_client.post(url, data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    user_row = AuditEntry.objects.get(action="auth.user.change")
    assert user_row.changes == {"groups": [[], ["Support"]]}


def test_the_trail_is_read_only(owner_client):
    row = audit_record(actor=owner_client.user, verb="pause", target=Group.objects.get(name="Owner"))
    base = "/admin/audit/auditentry/"

    assert owner_client.get(base).status_code == 200
    assert owner_client.get(f"{base}add/").status_code == 403
    assert owner_client.get(f"{base}{row.pk}/delete/").status_code == 403
    page = owner_client.get(f"{base}{row.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    owner_client.post(f"{base}{row.pk}/change/", {"action": "x", "reason": "rewritten"})
    owner_client.post(base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    row.refresh_from_db()
    assert row.reason == "" and row.action == "auth.group.pause"
    row.reason = "rewritten"
    with pytest.raises(ValueError, match="never changed"):
        row.save()


def test_support_sees_its_own_rows_and_the_owner_all(client, customer):
    owner, support = member("Owner"), member("Support")
    mine = audit_record(actor=support, verb="mark_resolved", target=customer, reason="support-did-this")
    theirs = audit_record(actor=owner, verb="disable", target=customer, reason="owner-did-this")

    client.force_login(support)
    page = client.get("/admin/audit/auditentry/").content.decode()
    assert "support-did-this" in page and "owner-did-this" not in page
    assert client.get(f"/admin/audit/auditentry/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/audit/auditentry/{theirs.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"/admin/audit/auditentry/?actor__id__exact={owner.pk}").context["cl"].result_count == 0

    client.force_login(owner)
    page = client.get("/admin/audit/auditentry/").content.decode()
    assert "support-did-this" in page and "owner-did-this" in page


def test_an_objects_page_links_to_its_trail(owner_client, on_sale):
    service, other = on_sale(), on_sale()
    for target in (service, other):
        audit_record(actor=owner_client.user, verb="pause", target=target, reason=f"paused {target.pk}")

    page = owner_client.get(f"/admin/catalogue/service/{service.pk}/change/").content.decode()
    assert "History (audit trail)" in page
    link = page.split("History (audit trail)")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")

    trail = owner_client.get(link)
    assert trail.context["cl"].result_count == 1
    assert f"paused {service.pk}" in trail.content.decode()


def test_amounts_read_with_their_columns_places(provider):
    """Stored (0E-8 on SQLite) and typed (2.5) amounts read alike: with the column's places."""
    provider_upsert(
        name="Upstream", api_url="https://up.example/api/v2", low_balance_threshold=Decimal("2.5")
    )

    row = AuditEntry.objects.get(action="panels.provider.change")
    assert row.changes == {"low_balance_threshold": ["0.00000000", "2.50000000"]}
    assert Provider.objects.get().low_balance_threshold == Decimal("2.5")
