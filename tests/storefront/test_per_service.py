"""What the storefront tells about each service: its description, its average completion time, what it
offers (refill, cancel) as labels, its rate per 1000 or per package; and the search on the new-order page."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import completion_times
from orders.completion_times import completion_times as averages
from orders.models import Order
from tests.builders import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_averages(monkeypatch):
    """A cache of its own per test: a figure cached by another test (or run) for the same id says nothing."""
    monkeypatch.setattr(completion_times, "_KEY", f"completion-time:{uuid.uuid4().hex}:{{}}")


def _completed(service, user, *, units: int, took: timedelta, ago: timedelta = timedelta(0), **fields):
    finished = timezone.now() - ago
    return order_in(
        Order.Status.COMPLETED,
        user=user,
        service=service,
        units=units,
        sent_at=finished - took,
        finished_at=finished,
        **fields,
    )


def test_average_time_is_the_median_per_1000_of_the_last_completed_orders(
    on_sale, make_customer, monkeypatch
):
    monkeypatch.setattr(completion_times, "SAMPLE", 3)
    service, user = on_sale("Default"), make_customer()
    # Per 1000: 1 h, 2 h and 10 h (one slow order moves a median, not a mean, by one place only).
    _completed(service, user, units=2000, took=timedelta(hours=2))
    _completed(service, user, units=500, took=timedelta(hours=1))
    _completed(service, user, units=1000, took=timedelta(hours=10))
    # Older than the last three: not counted, however slow.
    _completed(service, user, units=1000, took=timedelta(days=30), ago=timedelta(days=1))
    # Not completed, a drip-feed, or never sent: they say nothing of the provider's speed.
    order_in(
        Order.Status.PARTIAL, user=user, service=service, sent_at=timezone.now(), finished_at=timezone.now()
    )
    _completed(service, user, units=1000, took=timedelta(days=9), runs=3)

    average = averages([service.pk])[service.pk]
    assert average.duration == timedelta(hours=2) and not average.per_package and average.orders == 3


def test_a_package_takes_its_time_per_package_and_too_few_orders_say_not_enough_data(
    on_sale, make_customer, client
):
    package, fresh, user = on_sale("Package"), on_sale("Default"), make_customer()
    for hours in (1, 3, 5):
        _completed(package, user, units=1, took=timedelta(hours=hours))
    _completed(fresh, user, units=1000, took=timedelta(hours=1))
    _completed(fresh, user, units=1000, took=timedelta(hours=1))

    found = averages([package.pk, fresh.pk])
    assert found[package.pk].duration == timedelta(hours=3) and found[package.pk].per_package
    assert found[fresh.pk].duration is None and found[fresh.pk].orders == 2

    page = client.get("/services/").content.decode()
    package_row = _row(page, package.pk)
    assert "3 h" in package_row and "per package" in package_row
    assert "not enough data" in _row(page, fresh.pk)


def test_average_time_is_cached(on_sale, make_customer):
    service, user = on_sale("Default"), make_customer()
    for _ in range(3):
        _completed(service, user, units=1000, took=timedelta(minutes=90))
    assert averages([service.pk])[service.pk].duration == timedelta(minutes=90)
    Order.objects.filter(service=service).update(finished_at=timezone.now() + timedelta(days=1))
    assert averages([service.pk])[service.pk].duration == timedelta(minutes=90)  # until the cache expires


def test_services_page_queries_stay_bounded_whatever_the_number_of_services(
    on_sale, make_customer, signed_in, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = make_customer("dora")

    def add(count):
        for _ in range(count):
            service = _offering(on_sale, refill=True, cancel=True)
            _completed(service, user, units=1000, took=timedelta(hours=1))

    def queries():
        # Warm: the branding, the customer's own prices and the services' completion times are cached.
        signed_in.get("/services/")
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get("/services/").status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(15)
    assert queries() == few
    with django_assert_max_num_queries(12):
        signed_in.get("/services/")
    with django_assert_max_num_queries(12):
        signed_in.get("/order/", {"category": "Instagram"})


def test_refill_and_cancel_are_labels_not_controls(on_sale, client):
    service = _offering(on_sale, refill=True, cancel=True)
    page = client.get("/services/").content.decode()
    row = _row(page, service.pk)
    assert 'class="feature feature-refill"' in row and 'class="feature feature-cancel"' in row
    for control in re.findall(r"<a\b.*?</a>|<button\b.*?</button>", row, flags=re.S):
        assert "feature" not in control
    assert "badge" not in row  # the pill that looked like a button


def test_descriptions_are_shown_safely(on_sale, signed_in):
    service = on_sale("Default")
    service.description = "**Fast** start\nHigh quality <script>alert(1)</script>"
    service.save()
    listed = signed_in.get("/services/").content.decode()
    assert "<script>alert" not in listed and "High quality" in listed
    card = signed_in.get("/order/", {"service": service.pk}).content.decode()
    assert "<strong>Fast</strong>" in card and "<script>alert" not in card


def test_new_order_search_by_name_or_id_within_the_category(on_sale, signed_in):
    likes = on_sale("Default")
    likes.name = "Instagram likes fast"
    likes.save()
    views = on_sale("Package")
    views.name = "Instagram views"
    views.save()
    elsewhere = on_sale("Default")
    elsewhere.name = "TikTok likes"
    elsewhere.category = "TikTok"
    elsewhere.save()

    def options(**query):
        page = signed_in.get("/order/", query).content.decode()
        return {int(pk) for pk in re.findall(r'<option value="(\d+)"', page)}

    assert options(q="likes") == {likes.pk, elsewhere.pk}  # no category: every category
    assert options(q="likes", category="Instagram") == {likes.pk}
    assert options(q=str(views.pk)) == {views.pk}
    assert options(category="Instagram") == {likes.pk, views.pk}
    none = signed_in.get("/order/", {"q": "nothing like it"}).content.decode()
    assert "No service matches." in none
    # htmx asks for the picker alone, searched the same way.
    partial = signed_in.get(
        "/order/", {"q": "views"}, headers={"HX-Request": "true", "HX-Target": "service-picker"}
    ).content.decode()
    assert "<html" not in partial and f'<option value="{views.pk}"' in partial
    assert f'<option value="{likes.pk}"' not in partial
    # No script needed: the search form submits with a button.
    page = signed_in.get("/order/").content.decode()
    assert 'name="q"' in page and "Show services</button>" in page


def test_rates_say_per_package_or_per_1000(on_sale, signed_in):
    package, default = on_sale("Package", price="3.0000"), on_sale("Default")
    page = signed_in.get("/services/").content.decode()
    assert (
        "per package" in _row(page, package.pk) and "per 1000" not in _row(page, package.pk).split("rate")[1]
    )
    assert "per 1000" in _row(page, default.pk)
    assert "Rate per 1000" not in page
    picker = signed_in.get("/order/", {"category": "Instagram"}).content.decode()
    assert re.search(rf'<option value="{package.pk}"[^>]*>[^<]*3\.0000 USD per package<', picker)
    assert re.search(rf'<option value="{default.pk}"[^>]*>[^<]*per 1000<', picker)
    order = order_in(Order.Status.PENDING, user=signed_in.user, service=package)
    detail = signed_in.get(f"/orders/{order.pk}/").content.decode()
    assert re.search(r'id="rate"><span class="money">3\.0000 USD</span> per package<', detail)


def _offering(on_sale, type_name="Default", **flags):
    """A service on sale with the service's own flags (refill, cancel) set."""
    service = on_sale(type_name)
    for name, value in flags.items():
        setattr(service, name, value)
    service.save()
    return service


def _row(page: str, service_id: int) -> str:
    """The services table row of ``service_id``."""
    match = re.search(rf"<tr>\s*<td[^>]*>{service_id}</td>.*?</tr>", page, flags=re.S)
    assert match, f"no row for service {service_id}"
    return match.group(0)
