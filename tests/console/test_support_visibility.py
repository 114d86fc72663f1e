"""Support sees no providers, provider ids, provider statuses or words, costs or price-list rates: every admin
page Support reaches — lists, filters, searches, change pages, action forms, the review queue — is crawled
for them, and the Owner's pages, crawled the same way, show each one (so the needles are really there)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.utils import timezone

from catalogue.models import Service
from orders.models import Order, OrderEvent, Refill
from panels.models import Provider, ProviderService
from tests.staff import member

pytestmark = pytest.mark.django_db

S = Order.Status
# What only the Owner may see, each spelled so that it cannot appear by chance.
PROVIDER_NAME = "Zeta Upstream Panel"
NEEDLES = [
    PROVIDER_NAME,
    "Hidden Upstream Service",  # the provider's name of its service
    "RS-7731",  # the provider's service id
    "0.12345678",  # its rate (our cost)
    "0.04321987",  # an order's cost
    "1.9876",  # the rate an order was priced at
    "PO-55501",  # the provider's order id
    "PR-88802",  # the provider's refill id
    "Inprogress-ZZ",  # the provider's status spelling
    "said-by-zeta",  # the provider's words, in wait reasons, events and refill messages
]


@pytest.fixture
def orders(customer):
    provider = Provider.objects.create(
        name=PROVIDER_NAME, api_url="https://zeta.example/api/v2", api_key="k" * 20
    )
    upstream = ProviderService.objects.create(
        provider=provider,
        remote_id="RS-7731",
        name="Hidden Upstream Service [Refill]",
        rate=Decimal("0.12345678"),
        min_quantity=10,
        max_quantity=1000,
    )
    service = Service.objects.create(
        name="Followers",
        category="Instagram",
        type="Default",
        provider_service=upstream,
        min_quantity=10,
        max_quantity=1000,
        price=Decimal("2.5"),
        refill=True,
    )
    long_ago = timezone.now() - timedelta(days=1)

    def order(status, **fields):
        placed = Order.objects.create(
            user=customer,
            service=service,
            provider=provider,
            provider_service=upstream,
            type="Default",
            link=f"https://x.example/{status}",
            fields={"link": f"https://x.example/{status}", "quantity": "100"},
            units=100,
            price=Decimal("1.9876"),
            charge=Decimal("0.1988"),
            status=status,
            created_at=long_ago,
            **fields,
        )
        OrderEvent.objects.create(
            order=placed,
            to_status=status,
            message=f"Accepted by {PROVIDER_NAME} as #PO-55501: said-by-zeta.",
            public_message="Pending",
        )
        return placed

    sent = {
        "provider_order_id": "PO-55501",
        "provider_status": "Inprogress-ZZ",
        "cost": Decimal("0.04321987"),
        "cost_currency": "EUR",
    }
    unknown = order(S.NEEDS_REVIEW, wait_reason="No valid answer (said-by-zeta).")
    waiting = order(S.WAITING, wait_reason="The provider said: said-by-zeta.")
    figures = order(S.IN_PROGRESS, figures_missing_since=long_ago, **sent)
    unaccounted = order(
        S.PENDING,
        unaccounted_since=long_ago,
        unaccounted_syncs=1000,
        unaccounted_reason="said-by-zeta",
        **{**sent, "provider_order_id": "PO-55502"},
    )
    refill = Refill.objects.create(
        order=figures,
        status=Refill.Status.NEEDS_REVIEW,
        provider_refill_id="PR-88802",
        provider_status="Inprogress-ZZ",
        message="No valid answer to the refill request (said-by-zeta).",
    )
    return provider, [unknown, waiting, figures, unaccounted], refill


def crawl(client, orders, refill) -> list[str]:
    """Every page the logged-in user may open about these orders, and the users; their text."""
    urls = ["/admin/", "/admin/console/review/", "/admin/orders/order/?needs_review=yes"]
    for model in admin.site._registry:
        changelist = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls.append(changelist)
        urls += [f"{changelist}{pk}/change/" for pk in model.objects.values_list("pk", flat=True)[:20]]
    urls += [f"/admin/orders/order/{order.pk}/attach/" for order in orders]
    urls += [f"/admin/console/customer/{user_id}/" for user_id in {order.user_id for order in orders}]
    urls += [f"/admin/orders/order/?status__exact={status}" for status in S.values]
    pages = [client.get(url) for url in urls]
    # The forms the resolution actions ask first list what they act on.
    selected = [order.pk for order in orders]
    asked = [
        ("order", action, selected)
        for action in ["resend", "refund", "mark_resolved", "settle", "set_figures"]
    ]
    asked += [("refill", action, [refill.pk]) for action in ["attach", "close"]]
    pages += [
        client.post(f"/admin/orders/{model}/", {"action": action, "_selected_action": pks})
        for model, action, pks in asked
    ]
    return [page.content.decode() for page in pages if page.status_code == 200]


def test_support_sees_no_provider_cost_or_provider_id_anywhere(client, orders):
    provider, placed, refill = orders
    client.force_login(member("Support"))
    pages = crawl(client, placed, refill)
    assert len(pages) > 20  # lists, change pages, the queue, the attach pages and the action forms
    found = {needle: [page[:80] for page in pages if needle in page] for needle in NEEDLES}
    assert found == {needle: [] for needle in NEEDLES}
    queue = client.get("/admin/console/review/").content.decode()
    assert all(f"#{order.pk}" in queue for order in placed)  # the queue is still theirs to work

    # Search and filters do not reach what is hidden either: no finding an order by its provider's id, no
    # filtering by provider with a hand-made query string.
    assert client.get("/admin/orders/order/?q=PO-55501").context["cl"].result_count == 0
    assert client.get("/admin/orders/orderevent/?q=said-by-zeta").context["cl"].result_count == 0
    assert client.get(f"/admin/orders/order/?provider__id__exact={provider.pk}").status_code == 400
    assert client.get(f"/admin/orders/refill/?order__provider__id__exact={provider.pk}").status_code == 400


def test_the_owner_sees_all_of_it(client, orders):
    provider, placed, refill = orders
    client.force_login(member("Owner"))
    pages = "\n".join(crawl(client, placed, refill))
    assert [needle for needle in NEEDLES if needle not in pages] == []
    assert client.get("/admin/orders/order/?q=PO-55501").context["cl"].result_count == 1
    assert client.get(f"/admin/orders/order/?provider__id__exact={provider.pk}").status_code == 200
