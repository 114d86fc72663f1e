"""One submission of a form places (or asks to pay) at most once: double clicks, resubmitted pages, races."""

import re
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from billing.models import LedgerEntry, TopUp
from billing.services import account_for
from orders.models import Order
from storefront import views
from storefront.models import FormSubmission
from storefront.submissions import TOKEN_FIELD
from tests.storefront.support import rendered

pytestmark = pytest.mark.django_db


def token_in(page: str) -> str:
    return re.search(rf'name="{TOKEN_FIELD}" value="([^"]+)"', page)[1]


def test_every_rendering_of_a_paying_form_carries_a_new_token(signed_in, on_sale):
    service = on_sale()
    for url, params in [("/order/", {"service": service.pk}), ("/order/mass/", {}), ("/funds/", {})]:
        first = token_in(signed_in.get(url, params).content.decode())
        assert first != token_in(signed_in.get(url, params).content.decode()), url


def test_the_same_form_sent_twice_places_one_order_and_charges_once(signed_in, on_sale):
    service = on_sale()
    page = signed_in.get("/order/", {"service": service.pk}).content.decode()
    form = {
        TOKEN_FIELD: token_in(page),
        "service": service.pk,
        "link": "https://x.example/p",
        "quantity": "10",
    }
    first = signed_in.post("/order/", form)
    order = Order.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/orders/{order.pk}/"

    again = signed_in.post("/order/", form, follow=True)
    assert again.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert f"This form was already sent: order #{order.pk} was placed once" in again.content.decode()
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).count() == 1
    assert account_for(signed_in.user).balance == 100 - order.charge

    # The same rendering edited and sent again is still that one submission; a new rendering orders again.
    signed_in.post("/order/", {**form, "link": "https://x.example/other"})
    assert Order.objects.count() == 1
    signed_in.post("/order/", rendered({k: v for k, v in form.items() if k != TOKEN_FIELD}))
    assert Order.objects.count() == 2


def test_a_refused_submission_keeps_nothing_so_the_corrected_form_places(signed_in, on_sale):
    service = on_sale()
    form = rendered({"service": service.pk, "link": "https://x.example/p", "quantity": "1"})
    assert "The minimum is 10." in signed_in.post("/order/", form).content.decode()
    assert not Order.objects.exists() and not FormSubmission.objects.exists()
    assert signed_in.post("/order/", {**form, "quantity": "10"}).status_code == 302
    assert Order.objects.count() == 1


@pytest.mark.parametrize("token", [None, "", "short", "x" * 65, "bad token with spaces!!", "٣" * 30])
def test_a_form_without_a_well_formed_token_is_refused_and_writes_nothing(signed_in, on_sale, token):
    service = on_sale()
    form = {"service": service.pk, "link": "https://x.example/p", "quantity": "10"}
    if token is not None:
        form[TOKEN_FIELD] = token
    page = signed_in.post("/order/", form).content.decode()
    assert "This form was not sent whole: reload the page and send it again." in page
    mass = {"orders": f"{service.pk}|https://x.example/p|10"} | (
        {TOKEN_FIELD: token} if token is not None else {}
    )
    page = signed_in.post("/order/mass/", mass).content.decode()
    assert "This form was not sent whole" in page
    assert not Order.objects.exists() and not LedgerEntry.objects.filter(kind="charge").exists()


def test_a_token_is_its_customers_own_and_its_forms_own(signed_in, on_sale, make_customer):
    service = on_sale()
    form = rendered({"service": service.pk, "link": "https://x.example/p", "quantity": "10"})
    signed_in.post("/order/", form)
    other = Client()
    other.force_login(make_customer("otto"))
    other.post("/order/", form)  # the same token from someone else is their own first submission
    assert Order.objects.filter(user__username="otto").count() == 1
    page = signed_in.post(
        "/order/mass/", {TOKEN_FIELD: form[TOKEN_FIELD], "orders": f"{service.pk}|https://x.example/q|10"}
    ).content.decode()
    assert "This form was already sent: reload the page." in page
    assert Order.objects.count() == 2


def test_mass_order_box_keeps_only_refused_lines_and_resending_places_only_them(signed_in, on_sale):
    service = on_sale()
    lines = [
        f"{service.pk}|https://x.example/1|10",
        f"{service.pk}|https://x.example/2|1",
        "garbage",
        f"{service.pk}|https://x.example/3|10",
    ]
    form = rendered({"orders": "\n".join(lines)})
    page = signed_in.post("/order/mass/", form).content.decode()
    assert "2 accepted, 2 refused" in page
    placed = list(Order.objects.order_by("pk"))
    assert [order.link for order in placed] == ["https://x.example/1", "https://x.example/3"]
    for order in placed:
        assert f'href="/orders/{order.pk}/">order #{order.pk}</a>' in page
    box = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)[1].strip()
    assert box.splitlines() == [lines[1], "garbage"]

    # The same rendering sent again (back button, double click): its results again, nothing placed.
    again = signed_in.post("/order/mass/", form).content.decode()
    assert "This form was already sent: these are its results" in again and "2 accepted, 2 refused" in again
    assert Order.objects.count() == 2

    # The refused lines fixed and sent from the new rendering: only they are placed.
    fixed = box.replace("|1", "|10").replace("garbage", f"{service.pk}|https://x.example/4|10")
    page = signed_in.post("/order/mass/", {TOKEN_FIELD: token_in(again), "orders": fixed}).content.decode()
    assert "2 accepted, 0 refused" in page
    assert sorted(Order.objects.values_list("link", flat=True)) == [
        f"https://x.example/{n}" for n in range(1, 5)
    ]
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).count() == 4


def test_a_top_up_form_sent_twice_asks_for_one_payment(signed_in):
    form = rendered({"amount": "25", "method": "manual", "reference": "BANK-1"})
    signed_in.post("/funds/", form)
    signed_in.post("/funds/", form)
    assert TopUp.objects.count() == 1
    card = rendered({"amount": "40", "method": "sandbox"})
    first, second = signed_in.post("/funds/", card), signed_in.post("/funds/", card)
    assert first["Location"] == second["Location"] == f"/funds/sandbox/{TopUp.objects.latest('pk').pk}/"
    assert TopUp.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL")
def test_two_posts_of_one_form_at_the_same_moment_place_one_order(
    transactional_db, on_sale, make_customer, monkeypatch
):
    """Both requests are inside the view together: a check-then-write would place twice here."""
    service = on_sale()
    user = make_customer()
    place = views.order_place

    def slow_place(**kwargs):
        time.sleep(0.5)  # the other request arrives while this one is placing
        return place(**kwargs)

    monkeypatch.setattr(views, "order_place", slow_place)
    form = rendered({"service": service.pk, "link": "https://x.example/p", "quantity": "10"})
    start, answers = threading.Barrier(2), []

    def post():
        client = Client()
        client.force_login(user)
        start.wait()
        try:
            answers.append(client.post("/order/", form))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order = Order.objects.get()
    assert [answer.status_code for answer in answers] == [302, 302]
    assert {answer["Location"] for answer in answers} == {f"/orders/{order.pk}/"}
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).count() == 1


def test_tokens_are_forgotten_after_their_days(signed_in, settings):
    from datetime import timedelta

    from django.utils import timezone

    from storefront.submissions import form_submissions_prune

    settings.FORM_SUBMISSION_DAYS = 30
    now = timezone.now()
    old = FormSubmission.objects.create(user=signed_in.user, token="a" * 32, form="order")
    FormSubmission.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=31))
    FormSubmission.objects.create(user=signed_in.user, token="b" * 32, form="order")

    assert form_submissions_prune(now=now) == 1
    assert list(FormSubmission.objects.values_list("token", flat=True)) == ["b" * 32]
