"""Publishing provider services with markup rules, and the storefront following the provider."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from catalogue.following import VANISHED_REASON
from catalogue.models import CurrencyRate, CustomerPricing, CustomerServicePrice, MarkupRule, Service
from catalogue.pricing import customer_price
from catalogue.publishing import services_publish
from panels.catalogue import catalogue_sync
from panels.models import ProviderService
from panels.services import balance_sync

D = Decimal


def on_sale(provider):
    return {
        s.provider_service.remote_id: s
        for s in Service.objects.filter(provider_service__provider=provider).select_related(
            "provider_service"
        )
    }


def test_publish_prices_every_active_service_with_the_markup(synced_provider):
    result = services_publish(provider=synced_provider, percent=D(50))

    services = on_sale(synced_provider)
    assert len(result.created) == ProviderService.objects.count() == len(services)
    followers = services["1"]  # rate 0.90 → 1.35
    assert followers.price == D("1.35")
    assert (followers.type, followers.min_quantity, followers.max_quantity) == ("Default", 50, 10000)
    assert followers.refill and followers.cancel
    likes = services["2"]  # rate 0.12 x 1.5 = 0.18
    assert likes.price == D("0.18")


def test_rounding_goes_up_to_the_rule_step(synced_provider):
    services_publish(provider=synced_provider, percent=D(33), rounding=MarkupRule.Rounding.NICKEL)
    assert on_sale(synced_provider)["1"].price == D("1.20")  # 0.90 x 1.33 = 1.197 → up to 1.20


def test_the_most_specific_rule_wins(synced_provider):
    services_publish(provider=synced_provider, percent=D(100))
    services_publish(provider=synced_provider, percent=D(10), category="Instagram - Likes")
    followers = ProviderService.objects.get(remote_id="1")
    MarkupRule.objects.create(provider_service=followers, percent=D(0), fixed=D("0.05"))
    services_publish(provider=synced_provider, percent=D(100))  # reprices under all three rules

    services = on_sale(synced_provider)
    assert services["1"].price == D("0.95")  # its own rule: +0.05
    assert services["2"].price == D("0.14")  # its category: 0.132 → 0.14
    assert services["3"].price == D("9.00")  # the provider's rule: 4.50 x 2


def test_republishing_reprices_but_never_a_hand_set_price(synced_provider):
    services_publish(provider=synced_provider, percent=D(50))
    Service.objects.filter(provider_service__remote_id="2").update(price=D("7.77"), manual_price=True)

    result = services_publish(provider=synced_provider, percent=D(100))

    services = on_sale(synced_provider)
    assert services["1"].price == D("1.80")
    assert services["2"].price == D("7.77")
    assert not result.created
    assert len(result.repriced) == len(services) - 1


def test_a_foreign_currency_needs_a_rate(make_provider, make_simulator):
    provider = make_provider(make_simulator("smmcool", provider_currency="EUR"))
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)

    result = services_publish(provider=provider, percent=D(0))
    assert not result.created
    assert "No exchange rate for EUR" in result.skipped[0]

    CurrencyRate.objects.create(currency="EUR", rate=D("1.10"))
    services_publish(provider=provider, percent=D(0))
    assert on_sale(provider)["101"].price == D("1.38")  # 1.25 EUR x 1.10 = 1.375 → 1.38


def test_storefront_follows_price_changes_and_vanishing_services(synced_provider, simulator):
    services_publish(provider=synced_provider, percent=D(50))
    Service.objects.filter(provider_service__remote_id="3").update(status=Service.Status.DISABLED)

    simulator.sim.set_service(1, rate=D("2.00"), min=100, max=5000)
    simulator.sim.remove_service(2)
    simulator.sim.remove_service(3)
    catalogue_sync(provider=synced_provider)

    services = on_sale(synced_provider)
    assert services["1"].price == D("3.00")
    assert (services["1"].min_quantity, services["1"].max_quantity) == (100, 5000)
    assert (services["2"].status, services["2"].paused_by_sync, services["2"].pause_reason) == (
        Service.Status.PAUSED,
        True,
        VANISHED_REASON,
    )
    assert services["3"].status == Service.Status.DISABLED  # the operator's choice stands

    simulator.sim.restore_service(2)
    simulator.sim.restore_service(3)
    catalogue_sync(provider=synced_provider)

    services = on_sale(synced_provider)
    assert (services["2"].status, services["2"].paused_by_sync) == (Service.Status.ACTIVE, False)
    assert services["3"].status == Service.Status.DISABLED


def test_a_provider_service_that_changes_type_is_never_sold_on_the_old_basis(
    synced_provider, simulator, customer, admin_client
):
    """Custom Comments (per 1000 lines) becoming a Custom Comments Package (the rate per package): selling it on
    would charge 10 lines at 8 per 1000 while the provider bills 8 for the package — and the margin would look
    fine, the same two numbers compared."""
    from django.core.exceptions import ValidationError

    from orders.services import order_place

    services_publish(provider=synced_provider, percent=D(50))
    simulator.sim.set_service(4, type="Custom Comments Package")
    catalogue_sync(provider=synced_provider)

    service = on_sale(synced_provider)["4"]
    assert (service.type, service.status, service.paused_by_sync) == (
        "Custom Comments",
        Service.Status.PAUSED,
        True,
    )
    assert "now sells this as a Custom Comments Package service" in service.pause_reason
    comments = {"link": "https://x.example/p", "comments": "\n".join(f"c{n}" for n in range(10))}
    # Neither put back on sale by the operator's bulk action, nor sold if its status is forced.
    admin_client.post(
        "/admin/catalogue/service/", {"action": "put_back_on_sale", "_selected_action": [service.pk]}
    )
    assert Service.objects.get(pk=service.pk).status == Service.Status.PAUSED
    Service.objects.filter(pk=service.pk).update(status=Service.Status.ACTIVE)
    service.refresh_from_db()
    with pytest.raises(ValidationError, match="not on sale"):
        order_place(user=customer, service=service, data=comments)
    with pytest.raises(ValidationError, match="Custom Comments Package service"):
        service.full_clean()  # nor can the admin's form save it so

    # The provider goes back to the old type: on sale again, repriced as before.
    Service.objects.filter(pk=service.pk).update(status=Service.Status.PAUSED)
    simulator.sim.set_service(4, type="Custom Comments")
    catalogue_sync(provider=synced_provider)
    service.refresh_from_db()
    assert (service.status, service.paused_by_sync, service.pause_reason) == (
        Service.Status.ACTIVE,
        False,
        "",
    )
    assert order_place(user=customer, service=service, data=comments).units == 10


def test_customer_discounts_and_custom_prices(synced_provider):
    services_publish(provider=synced_provider, percent=D(50))
    followers = on_sale(synced_provider)["1"]
    regular, discounted, special = (User.objects.create_user(name) for name in ("reg", "disc", "spec"))
    CustomerPricing.objects.create(user=discounted, discount_percent=D("10"))
    CustomerPricing.objects.create(user=special, discount_percent=D("10"))
    CustomerServicePrice.objects.create(user=special, service=followers, price=D("0.99"))

    assert customer_price(user=regular, service=followers) == D("1.35")
    assert customer_price(user=discounted, service=followers) == D("1.215")
    assert customer_price(user=special, service=followers) == D("0.99")


def test_publishservices_command(synced_provider):
    out = StringIO()
    call_command(
        "publishservices",
        synced_provider.name,
        "--markup",
        "50",
        "--category",
        "Instagram - Likes",
        stdout=out,
    )
    assert "published" in out.getvalue()
    assert f"{synced_provider.name}: 1 published, 0 repriced, 0 unchanged, 0 skipped" in out.getvalue()

    with pytest.raises(CommandError, match="not a number"):
        call_command("publishservices", synced_provider.name, "--markup", "lots")
    # What Decimal() reads, or fails on with a traceback; and what the markup rule's columns cannot hold.
    for option, value, message in [
        *[("--markup", value, "is not a number") for value in ["NaN", "sNaN", "Infinity", "1e999", "1_0"]],
        ("--markup", "\u0661\u0660", "is not a number"),
        ("--fixed", "NaN", "is not a number"),
        ("--markup", "9" * 30, "no more than 7 digits"),
        ("--fixed", "9" * 30, "no more than 16 digits"),
        ("--markup", "-100", "greater than or equal to -99"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("publishservices", synced_provider.name, "--markup", "5", option, value)
    with pytest.raises(CommandError, match="No provider called"):
        call_command("publishservices", "nobody", "--markup", "5")


def test_publishing_selected_services_in_the_admin(client, synced_provider):
    from django.urls import reverse

    owner = User.objects.create_user("olive", password="pw", is_staff=True)
    owner.groups.add(Group.objects.get(name="Owner"))
    client.force_login(owner)
    selected = list(ProviderService.objects.filter(remote_id__in=["1", "2"]).values_list("pk", flat=True))
    url = reverse("admin:panels_providerservice_changelist")

    form = client.post(url, {"action": "publish", "_selected_action": selected})
    assert "Markup (%)" in form.content.decode()
    assert not Service.objects.exists()

    publish = {
        "action": "publish",
        "_selected_action": selected,
        "confirmed": "1",
        "fixed": "0",
        "rounding": "0.01",
    }
    refused = client.post(url, {**publish, "percent": "-20"}).content.decode()
    assert (
        "Under the current cost: Instagram Followers [Refill 30D] at 0.7200: margin -0.1800 (-25.0%), cost 0.9000; "
        "Instagram Likes [No Refill] at 0.1000: margin -0.0200 (-20.0%), cost 0.1200." in refused
    )
    assert "I accept selling at a loss" in refused
    assert not Service.objects.exists() and not MarkupRule.objects.exists()

    response = client.post(url, {**publish, "percent": "20"}, follow=True)
    likes = Service.objects.get(provider_service__remote_id="2")
    assert (
        f"Storefront: 2 published, 0 repriced, 0 unchanged, 0 skipped; the lowest margin: #{likes.pk} Instagram "
        "Likes [No Refill] at 0.1500: margin +0.0300 (20.0%), cost 0.1200." in response.content.decode()
    )
    assert {
        s.provider_service.remote_id: s.price for s in Service.objects.select_related("provider_service")
    } == {
        "1": D("1.08"),
        "2": D("0.15"),  # 0.90 x 1.2; 0.12 x 1.2 = 0.144 → 0.15
    }
    assert MarkupRule.objects.filter(provider_service__isnull=False).count() == 2
