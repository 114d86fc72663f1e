"""One answer to "can this service be ordered, and within which quantities?" (``catalogue.orderable``): every
face — the storefront, mass orders, API v2, the REST API and ``order_place`` itself — refuses the same
services for the same reason and accepts the same quantities, each in its own words."""

import json

import pytest
from django.core.exceptions import ValidationError

from api.services import api_key_issue
from catalogue.models import Service
from catalogue.orderable import service_orderable, services_on_sale
from orders.mass_orders import mass_order_place
from orders.models import Order
from orders.services import order_place

UNKNOWN, UNAVAILABLE = "No such service.", "This service is not on sale right now; try again later."
V2_WORDS = {
    UNKNOWN: "Incorrect service ID",
    UNAVAILABLE: "This service is temporarily unavailable, try again later",
}


class Faces:
    """Each way a customer can order, asked about one service id and quantity: what each one answers."""

    def __init__(self, client, customer):
        self.client, self.customer = client, customer
        _, self.key = api_key_issue(user=customer)
        client.force_login(customer)

    def v2(self, service_id, quantity) -> str:
        data = {"key": self.key, "action": "add", "service": service_id, "link": "https://x.example/a"}
        answer = self.client.post("/api/v2", {**data, "quantity": quantity})
        return json.loads(answer.content).get("error", "")

    def rest(self, service_id, quantity) -> dict:
        answer = self.client.post(
            "/api/v1/orders/",
            {"service": service_id, "link": "https://x.example/a", "quantity": quantity},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.key}",
        )
        return answer.json() if answer.status_code == 400 else {}

    def mass(self, service_id, quantity) -> str:
        (line,) = mass_order_place(user=self.customer, text=f"{service_id}|https://x.example/a|{quantity}")
        return line.error

    def storefront_offers(self, service_id) -> bool:
        return self.client.get(f"/order/?service={service_id}").context["service"] is not None


@pytest.fixture
def faces(client, customer):
    return Faces(client, customer)


def _in_state(service: Service, state: str) -> Service:
    if state == "disabled":
        service.status = Service.Status.DISABLED
    elif state == "paused":
        service.status, service.paused_by_sync = Service.Status.PAUSED, True
    elif state == "type changed upstream":  # still marked active: forced, or before the sync's follow-up ran
        service.provider_service.type = "Package"
        service.provider_service.save()
    service.save()
    return service


@pytest.mark.parametrize(
    ("state", "refusal"),
    [("disabled", UNKNOWN), ("paused", UNAVAILABLE), ("type changed upstream", UNAVAILABLE)],
)
def test_every_face_refuses_a_service_off_sale_for_the_same_reason(faces, on_sale, customer, state, refusal):
    service = _in_state(on_sale(min_quantity=10, max_quantity=1000), state)

    assert service_orderable(service).refusal.messages == [refusal]
    assert service not in services_on_sale()
    with pytest.raises(ValidationError) as placed:
        order_place(user=customer, service=service, data={"link": "https://x.example/a", "quantity": "100"})
    assert placed.value.message_dict == {"service": [refusal]}
    assert faces.v2(service.pk, 100) == V2_WORDS[refusal]
    assert faces.rest(service.pk, 100) == {"service": [refusal]}
    assert faces.mass(service.pk, 100) == f"Service #{service.pk}: {refusal}"
    assert not faces.storefront_offers(service.pk)
    assert not Order.objects.exists()


def test_every_face_refuses_an_id_that_is_no_service_alike(faces, db):
    assert service_orderable(None).refusal.messages == [UNKNOWN]
    assert faces.v2(999999, 100) == V2_WORDS[UNKNOWN]
    assert faces.rest(999999, 100) == {"service": [UNKNOWN]}
    assert faces.mass(999999, 100) == f"Service #999999: {UNKNOWN}"
    assert not faces.storefront_offers(999999)


def test_every_face_shows_and_applies_the_same_quantity_limits(faces, on_sale, customer):
    service = on_sale(min_quantity=10, max_quantity=1000)
    limits = service_orderable(service)
    assert limits and (limits.min_quantity, limits.max_quantity) == (10, 1000)

    v2_listed = faces.client.post("/api/v2", {"key": faces.key, "action": "services"}).json()
    assert (v2_listed[0]["min"], v2_listed[0]["max"]) == ("10", "1000")
    rest_listed = faces.client.get("/api/v1/services/", HTTP_AUTHORIZATION=f"Bearer {faces.key}").json()
    assert (rest_listed["results"][0]["min"], rest_listed["results"][0]["max"]) == (10, 1000)
    assert "From 10 to 1000." in faces.client.get(f"/order/?service={service.pk}").content.decode()

    for quantity, said, v2_said in [
        (9, "The minimum is 10.", "Quantity less than minimal 10"),
        (1001, "The maximum is 1000.", "Quantity more than maximal 1000"),
    ]:
        with pytest.raises(ValidationError) as placed:
            order_place(
                user=customer, service=service, data={"link": "https://x.example/a", "quantity": quantity}
            )
        assert placed.value.message_dict == {"quantity": [said]}
        assert faces.v2(service.pk, quantity) == v2_said
        assert faces.rest(service.pk, quantity) == {"quantity": [said]}
        assert faces.mass(service.pk, quantity) == f"quantity: {said}"
    assert not Order.objects.exists()
    assert faces.v2(service.pk, 10) == "" and faces.mass(service.pk, 1000) == ""
    assert Order.objects.count() == 2


def test_every_face_shows_one_service_whatever_its_routes(faces, on_sale, customer):
    """Issue 17: a service sold from three provider services, one with narrower limits, is one service with
    its own price and limits in both APIs' lists and on the storefront."""
    from catalogue.models import ServiceRoute
    from catalogue.routes import service_routes
    from panels.models import ProviderService

    service = on_sale(min_quantity=10, max_quantity=1000, price="2.0000")
    upstream = service.provider_service
    for n, (low, high, rate) in enumerate([(1, 5000, "0.5"), (100, 500, "3")], start=1):
        other = ProviderService.objects.create(
            provider=upstream.provider,
            remote_id=f"routed-{n}",
            name=f"Another {n}",
            type="Default",
            rate=rate,
            min_quantity=low,
            max_quantity=high,
        )
        ServiceRoute.objects.create(service=service, provider_service=other, position=n)
    assert len(service_routes(service)) == 3  # its own provider service and the two above

    v2_listed = faces.client.post("/api/v2", {"key": faces.key, "action": "services"}).json()
    assert [(s["service"], s["rate"], s["min"], s["max"]) for s in v2_listed] == [
        (service.pk, "2.00", "10", "1000")
    ]
    rest_listed = faces.client.get("/api/v1/services/", HTTP_AUTHORIZATION=f"Bearer {faces.key}").json()
    assert [(s["id"], s["min"], s["max"]) for s in rest_listed["results"]] == [(service.pk, 10, 1000)]
    assert "From 10 to 1000." in faces.client.get(f"/order/?service={service.pk}").content.decode()
    assert list(services_on_sale()) == [service]
