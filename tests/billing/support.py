"""Helpers for the payment tests."""

from billing.models import TopUp
from tests.storefront.support import rendered


def pay(client, method: str, amount: str) -> TopUp:
    """The customer asks to add ``amount`` with ``method``: sent to the processor's hosted page."""
    started = client.post("/funds/", rendered({"amount": amount, "method": method}))
    topup = TopUp.objects.latest("pk")
    assert started.status_code == 302 and started["Location"] == topup.checkout_url != ""
    return topup


def deliver(client, processor: str, delivery: tuple[bytes, dict]):
    """Post a processor's notification (``(body, headers)``, as a fake signs it) to its endpoint, raw."""
    body, headers = delivery
    return client.post(
        f"/funds/callback/{processor}/",
        body,
        content_type=headers.get("Content-Type", "application/json"),
        headers={name: value for name, value in headers.items() if name.lower() != "content-type"},
    )
