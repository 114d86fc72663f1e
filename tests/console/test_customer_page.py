"""The customer page: one customer's money, orders, prices, key, tickets, referrals and profile, each section
for the roles that may see it; the model pages about a customer lead to it; staff fields kept off customers."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import profile_for
from api.models import ApiRequest
from api.services import api_key_issue, api_request_log
from billing.models import LedgerEntry
from billing.services import account_for, balance_adjust
from catalogue.models import CustomerPricing, CustomerServicePrice
from console.customers import LEDGER_PAGE_SIZE, SECTIONS
from orders.models import Order
from referrals.services import affiliate_for, referral_record
from support.models import Ticket
from support.services import ticket_open
from tests.console.support import page_form
from tests.staff import member, staff

pytestmark = pytest.mark.django_db
S = Order.Status


def page_of(client, customer, query: str = "") -> str:
    response = client.get(reverse("console:customer", args=[customer.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def sections_on(html: str) -> set[str]:
    return set(re.findall(r'<section id="([a-z-]+)">', html)) & set(SECTIONS)


@pytest.fixture
def busy_customer(placed, customer):
    """``customer`` with an order, a key that was used, a ticket, a discount, a custom price, a referrer and
    a referral of their own."""
    placed(S.IN_PROGRESS, provider_order_id="41")
    key, secret = api_key_issue(user=customer)
    api_request_log(
        key=key, interface="v2", action="balance", http_status=200, error="", ip="10.0.0.1", duration_ms=3
    )
    ticket_open(user=customer, kind=Ticket.Kind.OTHER, subject="Where is my order", body="Hello")
    CustomerPricing.objects.create(user=customer, discount_percent=Decimal("5"))
    CustomerServicePrice.objects.create(user=customer, service=placed.service, price=Decimal("0.9000"))
    referrer = User.objects.create_user("ann")
    referral_record(referred=customer, code=affiliate_for(referrer).code)
    referral_record(referred=User.objects.create_user("bob"), code=affiliate_for(customer).code)
    customer.secret = secret
    return customer


def test_the_owner_sees_every_section_and_never_the_key(client, busy_customer):
    staff(client, "olive", "Owner")
    html = page_of(client, busy_customer)
    assert sections_on(html) == set(SECTIONS)
    account = account_for(busy_customer)
    assert f"{account.balance:f} USD" in html and 'id="adjust-balance"' in html
    order = busy_customer.orders.get()
    assert f"/admin/orders/order/{order.pk}/change/" in html and "In progress" in html
    assert f"/admin/orders/order/?user__id__exact={busy_customer.pk}" in html
    key = busy_customer.api_keys.get()
    assert f"{key.prefix}…" in html and busy_customer.secret not in html
    assert busy_customer.secret.split(".")[-1] not in html and key.hashed_key not in html
    assert 'value="revoke"' in html and ">balance<" in html
    assert "Where is my order" in html
    assert "Discount: 5.00% off" in html and "0.9000 USD" in html
    assert ">ann</a>" in html and ">bob</a>" in html
    assert 'id="profile-2fa">off<' in html and 'id="profile-state">active<' in html


def test_support_sees_orders_keys_tickets_and_profile_but_no_money(client, busy_customer):
    staff(client, "sue", "Support")
    html = page_of(client, busy_customer)
    assert sections_on(html) == {"orders", "api-key", "api-requests", "tickets", "profile"}
    assert 'id="adjust-balance"' not in html and 'value="revoke"' not in html
    assert "Discount" not in html and "ledger-table" not in html
    # The order's charge is what its customer sees too; the balance is not.
    assert f"{account_for(busy_customer).balance:f}" not in html

    account = account_for(busy_customer)
    adjust = reverse("admin:billing_account_adjust", args=[account.pk])
    client.post(adjust, {"amount": "50", "reason": "goodwill"})
    assert account_for(busy_customer).balance == account.balance


def test_adjusting_from_the_page_comes_back_to_it_with_the_ledger_row(client, customer):
    staff(client, "olive", "Owner")
    page = reverse("console:customer", args=[customer.pk])
    account = account_for(customer)
    response = client.post(
        reverse("admin:billing_account_adjust", args=[account.pk]),
        {"amount": "-12.5", "reason": "Refund of a double charge", "next": page},
    )
    assert response.status_code == 302 and response["Location"] == page
    html = page_of(client, customer)
    assert "87.5000 USD" in html and "Refund of a double charge" in html and "-12.5000 USD" in html
    # Elsewhere than a path of the panel: the account's page instead.
    for elsewhere in ["https://evil.example/", "//evil.example/", "sNaN"]:
        response = client.post(
            reverse("admin:billing_account_adjust", args=[account.pk]),
            {"amount": "1", "reason": "x", "next": elsewhere},
        )
        assert response["Location"] == reverse("admin:billing_account_change", args=[account.pk])


def test_the_ledger_is_paged(client, customer):
    owner = staff(client, "olive", "Owner")
    account = account_for(customer)
    for n in range(LEDGER_PAGE_SIZE + 3):
        balance_adjust(account=account, amount=Decimal(1), reason=f"credit {n}", actor=owner)
    total = LedgerEntry.objects.filter(account=account).count()
    first = page_of(client, customer)
    assert f"Page 1 of 2 ({total} entries)" in first and "?ledger_page=2#ledger" in first
    assert f"credit {LEDGER_PAGE_SIZE + 2}" in first and "credit 0<" not in first
    second = page_of(client, customer, "?ledger_page=2")
    assert "credit 0<" in second and "Page 2 of 2" in second
    assert "Page 2 of 2" in page_of(client, customer, "?ledger_page=99")  # past the end: the last


def test_the_page_reads_as_many_queries_however_much_the_customer_has(client, placed, busy_customer):
    """23 for the Owner when measured (the admin's own included), whatever the number of rows shown."""
    staff(client, "olive", "Owner")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_of(client, busy_customer)
        return len(captured.captured_queries)

    page_of(client, busy_customer)  # what the first page caches (the branding) is read once
    few = queries()
    for _ in range(5):
        placed(S.COMPLETED)
    ticket_open(user=busy_customer, kind=Ticket.Kind.OTHER, subject="Another", body="Hello")
    referral_record(referred=User.objects.create_user("cat"), code=affiliate_for(busy_customer).code)
    assert queries() == few <= 25


def test_disabled_two_factor_and_referral_facts(client, customer):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    customer.is_active = False
    customer.save()
    TOTPDevice.objects.create(user=customer, name="phone", confirmed=True)
    profile = profile_for(customer)
    profile.language, profile.display_currency = "en", "EUR"
    profile.save()
    staff(client, "olive", "Owner")
    html = page_of(client, customer)
    assert 'id="profile-state"><span class="bad">disabled' in html and 'id="profile-2fa">on<' in html
    assert "EUR" in html and "Referred by: nobody" in html and "Not an affiliate" in html


def test_the_model_pages_of_a_customer_lead_to_the_page(client, busy_customer):
    staff(client, "olive", "Owner")
    target = reverse("console:customer", args=[busy_customer.pk])
    link = f'<a href="{target}" id="customer-page-link"'  # among the theme's buttons above the record
    for url in [
        reverse("admin:auth_user_change", args=[busy_customer.pk]),
        reverse("admin:billing_account_change", args=[account_for(busy_customer).pk]),
        reverse("admin:accounts_profile_change", args=[profile_for(busy_customer).pk]),
        reverse("admin:catalogue_customerpricing_change", args=[busy_customer.pricing.pk]),
        reverse("admin:catalogue_customerserviceprice_change", args=[busy_customer.custom_prices.get().pk]),
        reverse("admin:orders_order_change", args=[busy_customer.orders.get().pk]),
    ]:
        assert link in client.get(url).content.decode(), url
    assert f'<a href="{target}">Customer page</a>' in client.get("/admin/auth/user/").content.decode()
    # And each of the page's links leads somewhere the Owner may go.
    html = page_of(client, busy_customer)
    for href in set(re.findall(r'href="(/admin/[^"#]*)"', html)):
        assert client.get(href.replace("&amp;", "&")).status_code == 200, href


def test_support_follows_the_page_links_it_is_given(client, busy_customer):
    staff(client, "sue", "Support")
    html = page_of(client, busy_customer)
    for href in set(re.findall(r'href="(/admin/[^"#]*)"', html)) - {"/admin/", "/admin/logout/"}:
        assert client.get(href.replace("&amp;", "&")).status_code == 200, href


def test_a_customers_user_page_shows_no_staff_fields_and_a_staff_users_does(client, customer):
    staff(client, "olive", "Owner")
    names = ["is_staff", "is_superuser", "groups", "user_permissions"]
    html = client.get(reverse("admin:auth_user_change", args=[customer.pk])).content.decode()
    assert 'name="is_active"' in html
    assert not [name for name in names if f'name="{name}"' in html]
    support = member("Support")
    html = client.get(reverse("admin:auth_user_change", args=[support.pk])).content.decode()
    assert all(f'name="{name}"' in html for name in names)

    # A hand-made POST of the customer's page cannot make them staff: the fields are not in its form.
    change = reverse("admin:auth_user_change", args=[customer.pk])
    data = {**page_form(client, change, "username"), "is_staff": "on", "is_superuser": "on"}
    assert client.post(change, data).status_code == 302
    customer.refresh_from_db()
    assert not customer.is_staff and not customer.is_superuser


def test_the_owner_adds_staff_with_their_role_on_add_user(client):
    staff(client, "olive", "Owner")
    support = Group.objects.get(name="Support")
    add = reverse("admin:auth_user_add")
    password = "a long enough pass 42"
    data = {
        **page_form(client, add, "username"),
        "username": "newsupport",
        "usable_password": "true",
        "password1": password,
        "password2": password,
        "is_staff": "on",
        "groups": [support.pk],
    }
    response = client.post(add, data)
    assert response.status_code == 302
    made = User.objects.get(username="newsupport")
    assert made.is_staff and list(made.groups.all()) == [support] and not made.is_superuser


def test_the_request_log_lists_this_customers_calls_only(client, busy_customer):
    other = User.objects.create_user("zed")
    key, _ = api_key_issue(user=other)
    api_request_log(
        key=key, interface="v2", action="services", http_status=200, error="", ip=None, duration_ms=1
    )
    staff(client, "sue", "Support")
    html = page_of(client, busy_customer)
    assert ">balance<" in html and ">services<" not in html
    assert ApiRequest.objects.count() == 2
