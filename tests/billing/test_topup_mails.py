"""Customers are mailed where their top-ups end — credited, rejected, taken back — by a worker once the
decision commits, once per decision, in plain text and HTML (issue 14)."""

from decimal import Decimal

import pytest
from django.core import mail

from billing.models import TopUp
from billing.topups import topup_approve, topup_reject, topup_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def customer_address(customer):
    customer.email = "dave@example.com"
    customer.save()


@pytest.fixture
def decided(eager_celery, django_capture_on_commit_callbacks):
    """Run a decision as a request would: its mail is queued on commit and (eager) sent at once."""

    def decide(act):
        with django_capture_on_commit_callbacks(execute=True):
            return act()

    return decide


def test_an_approved_payment_is_mailed_once_with_a_link(customer, admin_user, decided, settings):
    settings.PANEL_URL = "https://panel.example.com"
    topup = topup_request(user=customer, amount=Decimal(40), method="manual", reference="BANK-7")

    assert decided(lambda: topup_approve(topup=topup, actor=admin_user)) is True
    assert decided(lambda: topup_approve(topup=topup, actor=admin_user)) is False  # a double click

    [sent] = mail.outbox
    assert sent.to == [customer.email] and sent.subject == "40.0000 USD added to your balance"
    assert f"payment #{topup.pk} arrived" in sent.body and "https://panel.example.com/funds/" in sent.body
    [(html, kind)] = sent.alternatives
    assert kind == "text/html" and '<strong><span class="money">40.0000 USD</span></strong>' in html


def test_a_rejected_payment_is_mailed_with_the_reason_and_no_link_without_panel_url(
    customer, admin_user, decided
):
    topup = topup_request(user=customer, amount=Decimal(40), method="manual", reference="BANK-8")

    decided(lambda: topup_reject(topup=topup, actor=admin_user, note="No transfer with that reference"))

    [sent] = mail.outbox
    assert sent.subject == "Your payment of 40.0000 USD was not accepted"
    assert "Why: No transfer with that reference" in sent.body and "http" not in sent.body
    assert TopUp.objects.get().status == TopUp.Status.REJECTED


def test_no_mail_for_a_customer_without_an_address(customer, admin_user, decided):
    customer.email = ""
    customer.save()
    topup = topup_request(user=customer, amount=Decimal(40), method="manual", reference="BANK-9")
    decided(lambda: topup_approve(topup=topup, actor=admin_user))
    assert mail.outbox == []
