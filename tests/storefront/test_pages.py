"""Storefront pages: what each shows, every error path, and that a customer only ever sees their own."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from billing.gateways import GATEWAYS
from billing.models import LedgerEntry, TopUp
from billing.services import account_for, balance_change
from billing.topups import topup_approve, topup_reject
from catalogue.models import Service
from orders.models import Order
from orders.services import order_submit
from tests.orders.support import data_for, service_of, settle
from tests.storefront.support import notify, rendered

pytestmark = pytest.mark.django_db


def test_public_pages(client, shop):
    _, provider = shop("smmcloud")
    home = client.get("/").content.decode()
    assert "Sign up" in home and provider.services.first().category in home
    page = client.get("/services/", {"q": "", "category": ""}).content.decode()
    service = Service.objects.filter(status=Service.Status.ACTIVE).first()
    assert f'<td data-label="ID">{service.pk}</td>' in page and str(service.price) in page
    assert "Refill</span>" in page
    filtered = client.get("/services/", {"category": service.category}).content.decode()
    assert all(other.name not in filtered for other in Service.objects.exclude(category=service.category))
    assert str(service.pk) in client.get("/services/", {"q": str(service.pk)}).content.decode()
    assert client.get("/services/", {"q": "9" * 40}).status_code == 200  # not a crash on a huge id


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/v2", "/admin/"])
def test_a_host_the_panel_does_not_serve_is_a_bad_request(path):
    """Django refuses it in the first middleware that reads the Host, before anyone is signed in: the 400
    page, not a server error from a header that wants the customer's balance."""
    response = Client(raise_request_exception=False).get(path, HTTP_HOST="elsewhere.example")
    assert response.status_code == 400


def test_customer_pages_need_a_login(client):
    for name in ["dashboard", "new-order", "mass-order", "orders", "refills", "funds", "api-keys"]:
        response = client.get(reverse(f"storefront:{name}"))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name
    assert client.get("/accounts/settings/").status_code == 302


def test_sign_up_then_log_out_and_in(client):
    response = client.post(
        "/accounts/sign-up/",
        {
            "username": "neo",
            "email": "Neo@Example.com",
            "password1": "a-Long-pass-42",
            "password2": "a-Long-pass-42",
            "timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/sign-up/sent/"
    link = re.search(r"https?://\S+?(/accounts/sign-up/confirm/\S+/)", mail.outbox[0].body).group(1)
    assert client.post(link)["Location"] == "/dashboard/"  # the mailed link: tests/accounts/test_sign_up.py
    assert Profile.objects.get(user__username="neo").timezone == "Europe/Paris"
    assert account_for(Profile.objects.get().user).balance == 0
    client.post("/accounts/logout/")
    assert (
        client.post("/accounts/login/", {"username": "neo", "password": "a-Long-pass-42"}).status_code == 302
    )


def test_sign_up_errors_are_shown_next_to_their_fields(client, make_customer):
    make_customer("taken")
    page = client.post(
        "/accounts/sign-up/",
        {
            "username": "taken",
            "email": "taken@example.com",
            "password1": "x",
            "password2": "y",
            "timezone": "Mars/Base",
        },
    ).content.decode()
    assert "A user with that username already exists." in page
    assert "this email" not in page  # whether an email is registered is never said
    assert "The two password fields didn" in page
    assert "Select a valid choice" in page


def test_login_is_throttled_after_five_failures(client, make_customer):
    make_customer("trudy")
    for _ in range(4):
        page = client.post("/accounts/login/", {"username": "trudy", "password": "wrong"})
        assert (
            page.status_code == 200
            and "Please enter a correct username and password" in page.content.decode()
        )
    assert client.post("/accounts/login/", {"username": "trudy", "password": "wrong"}).status_code == 429
    locked = client.post("/accounts/login/", {"username": "trudy", "password": "pw-Secret-123"})
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()


def test_password_reset_by_email(client, make_customer, eager_celery):
    make_customer("rosa")
    asked = client.post("/accounts/password_reset/", {"email": "rosa@example.com"}, follow=True)
    assert "a link to choose a new password is on its way" in asked.content.decode()
    assert len(mail.outbox) == 1
    link = re.search(r"(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": "New-pass-4242", "new_password2": "New-pass-4242"}
    )
    assert response.status_code == 302
    assert "Your new password is set" in client.get(response["Location"]).content.decode()
    assert (
        Client().post("/accounts/login/", {"username": "rosa", "password": "New-pass-4242"}).status_code
        == 302
    )


def test_password_change(signed_in):
    page = signed_in.get("/accounts/password_change/").content.decode()
    assert 'name="old_password"' in page and 'name="new_password1"' in page
    wrong = {"old_password": "nope", "new_password1": "Other-pass-77", "new_password2": "Other-pass-77"}
    assert (
        "Your old password was entered incorrectly"
        in signed_in.post("/accounts/password_change/", wrong).content.decode()
    )
    done = signed_in.post(
        "/accounts/password_change/", {**wrong, "old_password": "pw-Secret-123"}, follow=True
    )
    page = done.content.decode()
    assert "Your password is changed." in page and 'href="/dashboard/"' in page
    assert signed_in.get("/dashboard/").status_code == 200  # still signed in
    signed_in.user.refresh_from_db()
    assert signed_in.user.check_password("Other-pass-77")


def test_settings_change_email_and_time_zone(signed_in, make_customer):
    """A new email changes once that address follows the link mailed to it; whether another account uses
    an address is never said (that account's owner is told instead)."""
    make_customer("other")
    password = {"password": "pw-Secret-123"}
    taken = signed_in.post(
        "/accounts/settings/", {"email": "other@example.com", "timezone": "UTC", **password}, follow=True
    )
    new = signed_in.post(
        "/accounts/settings/", {"email": "new@example.com", "timezone": "Asia/Tokyo", **password}, follow=True
    )
    assert "follow the link in the mail we sent there" in taken.content.decode()
    assert "follow the link in the mail we sent there" in new.content.decode()
    assert [message.to for message in mail.outbox] == [["other@example.com"], ["new@example.com"]]
    assert "It is already yours (username other)" in mail.outbox[0].body
    signed_in.user.refresh_from_db()
    assert signed_in.user.email == "cleo@example.com" and signed_in.user.profile.timezone == "Asia/Tokyo"

    link = re.search(r"https?://\S+?(/accounts/email/confirm/\S+/)", mail.outbox[1].body).group(1)
    assert "Use new@example.com for your account" in signed_in.get(link).content.decode()
    assert Client().get(link).status_code == 302  # only for the signed-in customer it was sent for
    assert signed_in.post(link)["Location"] == "/accounts/settings/"
    signed_in.user.refresh_from_db()
    assert signed_in.user.email == "new@example.com"
    assert "This link no longer works" in signed_in.get(link).content.decode()


def test_changing_the_email_needs_the_password(signed_in):
    """Password reset links go to the email: an open session alone must not be enough to take it."""
    for password, refusal in [
        ("", "Type your password."),
        ("wrong", "Your password was entered incorrectly."),
    ]:
        page = signed_in.post(
            "/accounts/settings/",
            {"email": "thief@example.com", "timezone": "Asia/Tokyo", "password": password},
        )
        assert page.status_code == 200 and refusal in page.content.decode()
    assert not mail.outbox
    signed_in.user.refresh_from_db()
    assert signed_in.user.profile.timezone == "UTC"  # nothing written by a refused form
    # The time zone alone needs no password.
    done = signed_in.post("/accounts/settings/", {"email": "CLEO@example.com", "timezone": "Asia/Tokyo"})
    assert done.status_code == 302 and not mail.outbox
    signed_in.user.profile.refresh_from_db()
    assert signed_in.user.profile.timezone == "Asia/Tokyo"


def test_new_order_page_fields_quote_and_placement(signed_in, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    page = signed_in.get("/order/", {"category": service.category}).content.decode()
    assert f'value="{service.pk}"' in page
    fields = signed_in.get(
        "/order/", {"service": service.pk}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-fields"
    ).content.decode()
    assert 'name="link"' in fields and 'name="quantity"' in fields and "<html" not in fields
    quote = signed_in.post(
        "/order/quote/",
        {"service": service.pk, "link": "https://x.example/a", "quantity": service.min_quantity * 2},
    )
    expected = (service.price * service.min_quantity * 2 / 1000).quantize(Decimal("0.0001"))
    assert f'<strong id="charge">{expected}</strong>' in quote.content.decode()
    problem = signed_in.post(
        "/order/quote/", {"service": service.pk, "link": "nope", "quantity": 1}
    ).content.decode()
    assert "Link: Enter a full link" in problem

    errors = signed_in.post(
        "/order/", rendered({"service": service.pk, "link": "nope", "quantity": 1})
    ).content.decode()
    assert "Enter a full link starting with http:// or https://." in errors
    assert f"The minimum is {service.min_quantity}." in errors
    assert not Order.objects.exists()

    response = signed_in.post("/order/", rendered({"service": service.pk, **data_for(service)}), follow=True)
    order = Order.objects.get()
    balance = account_for(signed_in.user).balance
    assert f"Order #{order.pk} placed. Your balance is now {balance}" in response.content.decode()


@pytest.mark.parametrize(
    "type_name", ["Custom Comments", "Subscriptions", "Package", "Comment Likes", "Invites from Groups"]
)
def test_every_kind_of_form_places_its_type(signed_in, shop, type_name):
    _, provider = shop("smmcloud")
    service = service_of(provider, type_name)
    form = signed_in.get("/order/", {"service": service.pk}).content.decode()
    data = data_for(service)
    for name in data:
        assert f'name="{name}"' in form, name
    signed_in.post("/order/", rendered({"service": service.pk, **data}))
    assert Order.objects.get().type == type_name


def test_drip_feed_fields_appear_only_where_allowed(signed_in, shop):
    _, provider = shop("smmcool")  # its services answer says nothing about drip-feed, as its document
    dripfed, plain = Service.objects.filter(provider_service__provider=provider, type="Default")[:2]
    assert dripfed.provider_service.dripfeed is None and plain.provider_service.dripfeed is None
    plain.dripfeed = Service.Dripfeed.OFF  # the operator's switch
    plain.save()
    package = service_of(provider, "Package")
    assert 'name="runs"' in signed_in.get("/order/", {"service": dripfed.pk}).content.decode()
    assert 'name="runs"' not in signed_in.get("/order/", {"service": plain.pk}).content.decode()
    assert 'name="runs"' not in signed_in.get("/order/", {"service": package.pk}).content.decode()
    signed_in.post(
        "/order/", rendered({"service": dripfed.pk, **data_for(dripfed), "runs": 3, "interval": 10})
    )
    order = Order.objects.get()
    assert order.runs == 3 and order.units == 3 * dripfed.min_quantity
    assert f"#{order.pk}" in signed_in.get("/orders/drip-feed/").content.decode()


def test_new_order_without_funds(signed_in, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Package")
    account = account_for(signed_in.user)
    balance_change(account=account, amount=-account.balance, kind=LedgerEntry.Kind.ADJUSTMENT, reason="empty")
    page = signed_in.post("/order/", rendered({"service": service.pk, **data_for(service)})).content.decode()
    assert "Not enough funds on your balance" in page and not Order.objects.exists()


def test_mass_order_reports_each_line(signed_in, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    comments = service_of(provider, "Custom Comments")
    text = "\n".join(
        [
            f"{service.pk}|https://x.example/1|{service.min_quantity}",
            f"{service.pk}|https://x.example/2|1",
            "garbage",
            "999999|https://x.example/3|100",
            f"{comments.pk}|https://x.example/4|10",
            f"{service.pk}|https://x.example/5|{service.min_quantity}",
        ]
    )
    page = signed_in.post("/order/mass/", rendered({"orders": text})).content.decode()
    assert "2 accepted, 4 refused" in page
    assert f"quantity: The minimum is {service.min_quantity}." in page
    assert "Write service_id|link|quantity." in page and "Service #999999: No such service." in page
    assert "Custom Comments orders need more fields" in page
    assert Order.objects.count() == 2
    assert (
        "At most 100 lines"
        in signed_in.post("/order/mass/", rendered({"orders": "1|a|1\n" * 101})).content.decode()
    )


def test_orders_list_tabs_search_and_pages(signed_in, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    from orders.services import order_place

    orders = [
        order_place(
            user=signed_in.user, service=service, data=data_for(service, link=f"https://x.example/{n}")
        )
        for n in range(30)
    ]
    Order.objects.filter(pk=orders[0].pk).update(status=Order.Status.COMPLETED)
    first = signed_in.get("/orders/").content.decode()
    assert f"#{orders[-1].pk}<" in first and "Page 1<" in first and 'href="?page=2"' in first
    assert "Previous" not in first
    second = signed_in.get("/orders/", {"page": 2}).content.decode()
    assert f"#{orders[0].pk}<" in second and 'href="?page=1"' in second and "Next" not in second
    past = signed_in.get("/orders/", {"page": 3}).content.decode()  # the total is not counted: empty
    assert "No orders yet." in past and 'href="?page=2"' in past
    completed = signed_in.get("/orders/", {"status": "completed"}).content.decode()
    assert f"#{orders[0].pk}<" in completed and f"#{orders[1].pk}<" not in completed
    assert f"#{orders[7].pk}<" in signed_in.get("/orders/", {"q": str(orders[7].pk)}).content.decode()
    found = signed_in.get("/orders/", {"q": "x.example/29"}).content.decode()
    assert f"#{orders[29].pk}<" in found and f"#{orders[28].pk}<" not in found
    assert signed_in.get("/orders/", {"q": "9" * 30, "page": "x"}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/orders/", "/orders/subscriptions/", "/refills/", "/funds/", "/dashboard/"]
)
def test_list_pages_use_the_same_queries_whatever_the_number_of_orders(
    signed_in, shop, path, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.refills import refill_request
    from orders.services import order_place

    _, provider = shop("smmcloud")
    service = service_of(provider, "Default", refill=True)

    def add(count):
        for n in range(count):
            order = order_place(
                user=signed_in.user, service=service, data=data_for(service, link=f"https://x.example/{n}")
            )
            Order.objects.filter(pk=order.pk).update(
                status=Order.Status.COMPLETED, finished_at=order.created_at
            )
            order.refresh_from_db()
            refill_request(order=order)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(path).status_code == 200
        return len(captured)

    queries()  # the branding read once and cached (content.branding)
    add(2)
    few = queries()
    add(20)
    assert queries() == few


def test_the_order_list_never_counts_the_history(signed_in, shop):
    """Issue 13: a COUNT on every page grew with the history; the pager asks for one row more instead."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.services import order_place

    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    for n in range(27):
        order_place(
            user=signed_in.user, service=service, data=data_for(service, link=f"https://x.example/{n}")
        )
    for page in ["1", "2", "500"]:
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get("/orders/", {"page": page, "status": "pending"}).status_code == 200
        counted = [query["sql"] for query in captured if "COUNT(" in query["sql"].upper()]
        assert not [sql for sql in counted if "orders_order" in sql]


def test_the_refills_and_the_balance_history_never_count_the_history(signed_in, shop):
    """Issue 13: as the order list, the refills and the balance history show Previous / Next, no count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.models import Refill
    from orders.services import order_place

    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    for n in range(27):
        order = order_place(
            user=signed_in.user, service=service, data=data_for(service, link=f"https://x.example/{n}")
        )
        Refill.objects.create(order=order, status=Refill.Status.COMPLETED)
    for path, table in [("/refills/", "orders_refill"), ("/funds/", "billing_ledgerentry")]:
        for page in ["1", "2", "500"]:
            with CaptureQueriesContext(connection) as captured:
                response = signed_in.get(path, {"page": page})
            assert response.status_code == 200
            counted = [query["sql"] for query in captured if "COUNT(" in query["sql"].upper()]
            assert not [sql for sql in counted if table in sql], path
        assert not response.context["page" if path == "/refills/" else "ledger"].object_list  # past the end


def test_order_detail_refill_and_cancel_buttons_and_outcomes(signed_in, shop):
    server, provider = shop("smmcloud")
    refillable = service_of(provider, "Default", refill=True)
    cancelable = service_of(provider, "Default", cancel=True)
    from orders.services import order_place

    done = order_place(user=signed_in.user, service=refillable, data=data_for(refillable))
    order_submit(order_id=done.pk)
    settle(server, provider, done)
    page = signed_in.get(f"/orders/{done.pk}/").content.decode()
    assert "Request a refill" in page and "Cancel the order" not in page
    assert "Completed" in page and provider.name not in page and done.provider_order_id not in page
    outcome = signed_in.post(f"/orders/{done.pk}/refill/", follow=True).content.decode()
    assert "Refill requested" in outcome and "Request a refill" not in outcome
    again = signed_in.post(f"/orders/{done.pk}/refill/", follow=True).content.decode()
    assert "already under way" in again

    queued = order_place(
        user=signed_in.user, service=cancelable, data=data_for(cancelable, link="https://x.example/c")
    )
    balance = account_for(signed_in.user).balance
    assert "Cancel the order" in signed_in.get(f"/orders/{queued.pk}/").content.decode()
    outcome = signed_in.post(f"/orders/{queued.pk}/cancel/", follow=True).content.decode()
    assert "Canceled and refunded." in outcome and f"Refunded {queued.charge}." in outcome
    assert account_for(signed_in.user).balance == balance + queued.charge
    assert "Cancel the order" not in outcome


def test_a_customer_cannot_reach_another_customers_orders(client, shop, make_customer):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default", cancel=True)
    from orders.services import order_place

    owner, intruder = make_customer("owner"), make_customer("intruder")
    order = order_place(user=owner, service=service, data=data_for(service))
    client.force_login(intruder)
    assert client.get(f"/orders/{order.pk}/").status_code == 404
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    assert client.post(f"/orders/{order.pk}/refill/").status_code == 404
    assert f"#{order.pk}<" not in client.get("/orders/", {"q": str(order.pk)}).content.decode()
    assert Order.objects.get(pk=order.pk).status == Order.Status.QUEUED


def test_manual_top_up_approved_once_or_rejected(signed_in, admin_user):
    page = signed_in.post(
        "/funds/", rendered({"amount": "25", "method": "manual", "reference": ""})
    ).content.decode()
    assert "Give the reference of your payment" in page
    assert (
        "Ensure this value is greater than or equal to 1"
        in signed_in.post("/funds/", rendered({"amount": "0", "method": "manual"})).content.decode()
    )
    signed_in.post("/funds/", rendered({"amount": "25", "method": "manual", "reference": "BANK-123"}))
    topup = TopUp.objects.get()
    before = account_for(signed_in.user).balance
    assert topup_approve(topup=topup, actor=admin_user) is True
    assert topup_approve(topup=topup, actor=admin_user) is False  # a second click credits nothing
    assert account_for(signed_in.user).balance == before + 25
    assert "top-up" in signed_in.get("/funds/").content.decode()
    signed_in.post("/funds/", rendered({"amount": "10", "method": "manual", "reference": "BANK-124"}))
    second = TopUp.objects.latest("pk")
    assert topup_reject(topup=second, actor=admin_user, note="No such transfer") is True
    assert topup_approve(topup=second, actor=admin_user) is False
    assert "No such transfer" in signed_in.get("/funds/").content.decode()


def test_top_up_approval_in_the_admin(admin_client, make_customer):
    from billing.topups import topup_request

    customer = make_customer("ann", funds="0")
    topup = topup_request(user=customer, amount=Decimal("12.50"), method="manual", reference="R1")
    admin_client.post(
        "/admin/billing/topup/", {"action": "approve", "_selected_action": [topup.pk], "confirmed": "1"}
    )
    admin_client.post(
        "/admin/billing/topup/", {"action": "approve", "_selected_action": [topup.pk], "confirmed": "1"}
    )
    assert account_for(customer).balance == Decimal("12.50")
    other = topup_request(user=customer, amount=Decimal("5"), method="manual", reference="R2")
    form = admin_client.post("/admin/billing/topup/", {"action": "reject", "_selected_action": [other.pk]})
    assert b"Shown to the customer" in form.content
    admin_client.post(
        "/admin/billing/topup/",
        {"action": "reject", "_selected_action": [other.pk], "confirmed": "1", "note": "Not received"},
    )
    other.refresh_from_db()
    assert other.status == TopUp.Status.REJECTED and other.note == "Not received"


def test_sandbox_gateway_redirect_signed_callback_once_and_bad_signatures(signed_in, client):
    response = signed_in.post("/funds/", rendered({"amount": "40", "method": "sandbox"}))
    topup = TopUp.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/funds/sandbox/{topup.pk}/"
    returned = signed_in.post(response["Location"], {"pay": ""}).content.decode()
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', returned))
    before = account_for(signed_in.user).balance

    forged = {**fields, "amount": "4000"}
    assert notify(signed_in, "sandbox", forged).status_code == 400
    assert notify(signed_in, "sandbox", {**fields, "signature": "0" * 64}).status_code == 400
    assert account_for(signed_in.user).balance == before

    done = notify(signed_in, "sandbox", fields, follow=True).content.decode()
    assert "Payment received: 40.0000 added to your balance." in done
    fields.pop("return")
    assert notify(Client(), "sandbox", fields).status_code == 200  # the gateway repeats itself
    assert account_for(signed_in.user).balance == before + 40
    assert (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEPOSIT, reference=f"top-up {topup.pk}").count() == 1
    )
    assert notify(signed_in, "nope", fields).status_code == 404  # no such gateway here


def test_a_canceled_gateway_payment_credits_nothing(signed_in):
    signed_in.post("/funds/", rendered({"amount": "40", "method": "sandbox"}))
    topup = TopUp.objects.get()
    signed = GATEWAYS["sandbox"].sign(
        topup_id=topup.pk, paid=False, amount=topup.amount, gateway_reference="x"
    )
    notify(signed_in, "sandbox", signed)
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.CANCELED and account_for(signed_in.user).balance == 100


def test_dashboard_shows_balance_recent_orders_and_spending(signed_in, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    from orders.services import order_place

    order = order_place(user=signed_in.user, service=service, data=data_for(service))
    page = signed_in.get("/dashboard/").content.decode()
    assert f"{account_for(signed_in.user).balance} USD" in page
    assert f"#{order.pk}<" in page and f"{order.charge} USD" in page
