"""The console's front page counts the money waiting for an operator: manual payments to decide, and deposits
a processor took back (the customer's balance may be overdrawn) — for those who may decide top-ups."""

from decimal import Decimal

import pytest

from billing.models import TopUp
from billing.topups import topup_request
from tests.staff import staff

pytestmark = pytest.mark.django_db


def test_manual_payments_waiting_and_deposits_taken_back_are_counted(client, customer):
    for reference in ("BANK-1", "BANK-2"):
        topup_request(user=customer, amount=Decimal(10), method="manual", reference=reference)
    TopUp.objects.create(user=customer, amount=Decimal(5), method="sandbox", status=TopUp.Status.REVERSED)

    staff(client, "olive", "Owner")
    page = client.get("/admin/").content.decode()
    assert '<strong id="manual-payments" class="waiting">2</strong> waiting to be approved' in page
    assert '?status__exact=reversed" id="taken-back" class="waiting">1 taken back by a processor' in page

    staff(client, "sam", "Support")  # payments are not Support's
    assert "Manual payments" not in client.get("/admin/").content.decode()
