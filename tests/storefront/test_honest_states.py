"""What an order tells its customer beyond "Pending": why it waits (in their terms, never the provider's),
a subscription's terms with Active/Expired tabs and its cancel, a drip-feed's runs; a paid sandbox page
without Pay; an operator's adjustment with its reason in the customer's ledger."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import LedgerEntry, TopUp
from billing.services import account_for, balance_adjust
from orders.models import Order
from orders.services import order_place, order_refund, order_submit
from panels.models import Provider
from tests.builders import order_in
from tests.orders.support import data_for, service_of
from tests.storefront.support import rendered

pytestmark = pytest.mark.django_db
S = Order.Status

LINK_BUSY = "Another order for this link is in progress; we will send this one when it finishes"


def _shown(client, order) -> tuple[str, str]:
    """The order's row in the list and its detail page."""
    listed = client.get("/orders/").content.decode()
    row = re.search(rf'<tr data-order="{order.pk}">.*?</tr>', listed, flags=re.S).group(0)
    return row, client.get(f"/orders/{order.pk}/").content.decode()


def test_an_order_behind_another_for_its_link_says_so_never_what_the_provider_said(signed_in, shop):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    first = order_place(
        user=signed_in.user, service=service, data=data_for(service, link="https://x.example/a")
    )
    order_submit(order_id=first.pk)
    second = order_place(
        user=signed_in.user, service=service, data=data_for(service, link="https://x.example/a")
    )
    order_submit(order_id=second.pk)  # the provider: "You have active order with this link…"
    second.refresh_from_db()
    assert second.status == S.WAITING and "active order with this link" in second.wait_reason

    at = timezone.localtime(second.next_attempt_at).strftime("%H:%M")
    for page in _shown(signed_in, second):
        assert LINK_BUSY in page and f"next check at {at}" in page
        assert "active order" not in page and provider.name not in page and "Please wait" not in page


def test_an_order_the_provider_could_not_take_says_when_we_retry(signed_in, shop, unused_tcp_port):
    _, provider = shop("smmcloud")
    service = service_of(provider, "Default")
    Provider.objects.filter(pk=provider.pk).update(api_url=f"http://127.0.0.1:{unused_tcp_port}/api/v2")
    order = order_place(user=signed_in.user, service=service, data=data_for(service))
    order_submit(order_id=order.pk)  # nothing listens: nothing was sent
    order.refresh_from_db()
    assert order.status == S.WAITING and order.wait_reason

    at = timezone.localtime(order.next_attempt_at).strftime("%H:%M")
    for page in _shown(signed_in, order):
        assert f"The provider is busy; we will retry at {at}" in page
        assert order.wait_reason not in page and provider.name not in page and "127.0.0.1" not in page


@pytest.mark.parametrize(
    ("status", "reason", "wording"),
    [
        (
            S.WAITING,
            "Secret Upstream Ltd is unavailable: HTTP 503 from api.secret.example",
            "The provider is busy; we will retry at",
        ),
        (
            S.WAITING,
            "Refused by Secret Upstream Ltd: Not enough funds on balance Retrying in 5 min.",
            "The provider is busy; we will retry at",
        ),
        (
            S.WAITING,
            "Refused by Secret Upstream Ltd: You have active order with this link. Please wait.",
            LINK_BUSY,
        ),
        (S.QUEUED, "", "In the queue: we send it to the provider at"),
        (
            S.NEEDS_REVIEW,
            "No valid answer from Secret Upstream Ltd",
            "We are checking this order with the provider",
        ),
    ],
)
def test_each_waiting_reason_in_the_customers_words(signed_in, on_sale, status, reason, wording):
    due = timezone.now() + timedelta(minutes=7)
    order = order_in(status, user=signed_in.user, service=on_sale(), wait_reason=reason, next_attempt_at=due)
    for page in _shown(signed_in, order):
        assert wording in page
        assert "Secret Upstream" not in page and "secret.example" not in page and "Retrying in" not in page
    if "retry at" in wording or "queue" in wording:
        assert timezone.localtime(due).strftime("%H:%M") in _shown(signed_in, order)[1]


def test_a_sent_or_finished_order_says_nothing_of_waiting(signed_in, on_sale):
    service = on_sale()
    for status in (S.PENDING, S.COMPLETED):
        order = order_in(status, user=signed_in.user, service=service, wait_reason="stale text")
        for page in _shown(signed_in, order):
            assert "wait-note" not in page and "stale text" not in page


def test_subscriptions_show_their_terms_tabs_and_cancel(signed_in, on_sale):
    service = on_sale("Subscriptions", min_quantity=100, max_quantity=1000)
    service.cancel = True
    service.save()
    data = {**data_for(service), "min": "100", "max": "150", "posts": "12", "expiry": "31/12/2030"}
    running = order_place(user=signed_in.user, service=service, data=data)
    Order.objects.filter(pk=running.pk).update(
        status=S.IN_PROGRESS, provider_order_id="77", sent_at=timezone.now()
    )
    over = order_in(S.COMPLETED, user=signed_in.user, service=service, link="someone-else")

    detail = signed_in.get(f"/orders/{running.pk}/").content.decode()
    assert re.search(r'id="sub-posts">12<', detail)
    assert re.search(r'id="sub-range">min 100, max 150', detail)
    assert re.search(r'id="sub-expiry">2030-12-31<', detail)
    assert "Cancel the subscription</button>" in detail

    tabs = signed_in.get("/orders/subscriptions/").content.decode()
    assert "?status=active" in tabs and "?status=expired" in tabs and "12 posts, 100 to 150 each" in tabs
    active = signed_in.get("/orders/subscriptions/", {"status": "active"}).content.decode()
    expired = signed_in.get("/orders/subscriptions/", {"status": "expired"}).content.decode()
    assert f'data-order="{running.pk}"' in active and f'data-order="{over.pk}"' not in active
    assert f'data-order="{over.pk}"' in expired and f'data-order="{running.pk}"' not in expired

    outcome = signed_in.post(f"/orders/{running.pk}/cancel/", follow=True).content.decode()
    running.refresh_from_db()
    assert running.cancel_requested_at is not None and "Cancel the subscription</button>" not in outcome

    service.cancel = False
    service.save()
    other = order_in(S.IN_PROGRESS, user=signed_in.user, service=service, link="third")
    assert "Cancel the subscription" not in signed_in.get(f"/orders/{other.pk}/").content.decode()


def test_drip_feed_orders_show_runs_done_and_the_next_run(signed_in, on_sale):
    service = on_sale(min_quantity=10)
    sent = timezone.now() - timedelta(minutes=65)
    order = order_in(
        S.IN_PROGRESS,
        user=signed_in.user,
        service=service,
        runs=4,
        units=400,
        remains=200,  # the provider's figure: two runs of 100 delivered
        sent_at=sent,
        fields={"link": "https://x.example/d", "quantity": "100", "runs": "4", "interval": "30"},
    )
    detail = signed_in.get(f"/orders/{order.pk}/").content.decode()
    assert re.search(r'id="runs-done">2 / 4 <span class="muted">\(every 30 min\)', detail)
    next_run = timezone.localtime(sent + timedelta(minutes=60)).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'id="next-run">about {next_run}<', detail)
    assert "2/4 runs" in signed_in.get("/orders/drip-feed/").content.decode()

    Order.objects.filter(pk=order.pk).update(status=S.COMPLETED, remains=0)
    done = signed_in.get(f"/orders/{order.pk}/").content.decode()
    assert re.search(r'id="runs-done">4 / 4 ', done) and re.search(r'id="next-run">—<', done)


def test_a_paid_sandbox_page_no_longer_offers_pay(signed_in):
    response = signed_in.post("/funds/", rendered({"amount": "40", "method": "sandbox"}))
    topup = TopUp.objects.get()
    assert ">Pay</button>" in signed_in.get(response["Location"]).content.decode()
    TopUp.objects.filter(pk=topup.pk).update(status=TopUp.Status.CREDITED)

    page = signed_in.get(response["Location"]).content.decode()
    assert ">Pay</button>" not in page and "already done" in page
    posted = signed_in.post(response["Location"], {"pay": ""}).content.decode()
    assert 'name="signature"' not in posted and "already done" in posted


def test_the_customer_sees_an_adjustments_reason_and_only_their_own(
    signed_in, make_customer, on_sale, admin_user
):
    other = make_customer("otto")
    balance_adjust(
        account=account_for(signed_in.user),
        amount=Decimal(5),
        reason="Compensation for the outage",
        actor=admin_user,
    )
    balance_adjust(
        account=account_for(other), amount=Decimal(3), reason="Goodwill for otto", actor=admin_user
    )
    order = order_in(S.PENDING, user=signed_in.user, service=on_sale())
    order_refund(order=order, amount=order.charge, reason="Refused by Secret Upstream Ltd: raw text")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, reason__contains="Secret").exists()

    page = signed_in.get("/funds/").content.decode()
    assert "Compensation for the outage" in page
    assert "Goodwill for otto" not in page and "Secret Upstream" not in page
