"""Selling below cost: the margin beside every price an operator sets, and a price under cost refused
unless the operator accepts the loss — through the admin as the Owner, the publishservices command, and the
services behind them."""

import html
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from catalogue.margins import margin_of, service_price_check
from catalogue.models import CurrencyRate, CustomerPricing, MarkupRule, Service
from catalogue.pricing import customer_price
from panels.catalogue import catalogue_sync
from panels.models import ProviderService
from panels.services import balance_sync

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def owner(client):
    user = User.objects.create_user("olive", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Owner"))
    client.force_login(user)
    return user


@pytest.fixture
def cloud(shop):
    """The smmcloud shop at +50%: Instagram Followers costs 0.90 and sells at 1.35."""
    _, provider = shop("smmcloud")
    return provider


def followers_of(provider) -> Service:
    return Service.objects.get(provider_service__provider=provider, provider_service__remote_id="1")


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_cost_is_in_the_panel_currency_rounded_up_and_unknown_without_a_rate(make_provider, make_simulator):
    provider = make_provider(make_simulator("smmcool", provider_currency="EUR"))
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    views = ProviderService.objects.get(provider=provider, remote_id="102")  # 0.02 EUR per 1000

    unknown = margin_of(price=D("0.0001"), provider_service=views)
    assert (unknown.cost, unknown.amount, unknown.under_cost) == (None, None, False)
    assert str(unknown) == "cost unknown: No exchange rate for EUR: add one under Currency rates"
    # An unknown cost is said, never guessed: nothing to refuse.
    service_price_check(
        service=Service(name="Views"), price=D("0.0001"), provider_service=views, allow_loss=False
    )

    CurrencyRate.objects.create(currency="EUR", rate=D("1.123456"))  # 0.02246912 → 0.0225
    assert margin_of(price=D("0.0225"), provider_service=views).cost == D("0.0225")
    assert not margin_of(price=D("0.0225"), provider_service=views).under_cost
    assert str(margin_of(price=D("0.0300"), provider_service=views)) == "margin +0.0075 (25.0%), cost 0.0225"
    assert margin_of(price=D("0.0224"), provider_service=views).under_cost


def service_form(service: Service, **changes) -> dict:
    fields = [
        "name", "category", "description", "type", "min_quantity", "max_quantity", "refill_days",
        "auto_refill_days", "price", "status", "pause_reason", "routing",
    ]  # fmt: skip
    form = {name: getattr(service, name) for name in fields}
    form.update({"routes-TOTAL_FORMS": "0", "routes-INITIAL_FORMS": "0"})  # its routes inline, unchanged
    form["provider_service"] = service.provider_service_id
    form.update({flag: "on" for flag in ["refill", "cancel", "manual_price"] if getattr(service, flag)})
    return {**form, **changes}


def test_the_service_pages_show_the_margin_and_refuse_a_hand_set_price_under_cost(client, owner, cloud):
    followers = followers_of(cloud)
    listing = text(client.get("/admin/catalogue/service/"))
    # The cost and, beside it, the margin: two cells of the list (Django's field-<name> classes).
    assert re.search(
        r'<td class="field-cost\b[^>]*>0\.9000</td>\s*<td class="field-margin\b[^>]*>\+0\.4500 \(33\.3%\)</td>',
        listing,
    )
    url = f"/admin/catalogue/service/{followers.pk}/change/"
    page = text(client.get(url))
    assert "+0.4500 (33.3%)" in page and "I accept selling at a loss" in page

    refused = client.post(url, service_form(followers, price="0.80", manual_price="on"))
    assert refused.status_code == 200
    assert (
        f"Under the current cost: {followers} at 0.80: margin -0.1000 (-12.5%), cost 0.9000. To sell at a "
        "loss anyway, tick “I accept selling at a loss”." in text(refused)
    )
    followers.refresh_from_db()
    assert (followers.price, followers.manual_price) == (D("1.35"), False)

    saved = client.post(url, service_form(followers, price="0.80", manual_price="on", allow_loss="on"))
    assert saved.status_code == 302
    followers.refresh_from_db()
    assert (followers.price, followers.manual_price) == (D("0.80"), True)
    assert "-0.1000 (-12.5%) under cost" in text(client.get("/admin/catalogue/service/"))
    # Editing something else of a service already under cost is not held up by it.
    assert client.post(url, service_form(followers, name="Followers")).status_code == 302


def test_a_markup_rule_shows_what_it_prices_and_is_refused_under_cost(client, owner, cloud):
    listing = text(client.get("/admin/catalogue/markuprule/"))
    assert "8 service(s), lowest margin +0.0600" in listing  # Likes: 0.18 over 0.12

    rule = {
        "provider": cloud.pk,
        "category": "Instagram - Likes",
        "percent": "-10",
        "fixed": "0",
        "rounding": "0.01",
    }
    refused = client.post("/admin/catalogue/markuprule/add/", rule)
    likes = Service.objects.get(provider_service__provider=cloud, provider_service__remote_id="2")
    assert f"Under the current cost: {likes} at 0.1100: margin -0.0100 (-9.1%), cost 0.1200." in text(refused)
    assert not MarkupRule.objects.filter(category="Instagram - Likes").exists()

    assert client.post("/admin/catalogue/markuprule/add/", {**rule, "allow_loss": "on"}).status_code == 302
    listing = text(client.get("/admin/catalogue/markuprule/"))
    assert "1 service(s), lowest margin -0.0100" in listing and "1 under cost" in listing
    assert "7 service(s), lowest margin +0.1800" in listing  # the provider's rule keeps the rest (Auto Likes)


def test_a_discount_under_cost_is_refused_and_shows_its_lowest_margin(client, owner, cloud, customer):
    refused = client.post(
        "/admin/catalogue/customerpricing/add/", {"user": customer.pk, "discount_percent": "40"}
    )
    followers = followers_of(cloud)  # 1.35 less 40% = 0.81, under 0.90
    assert f"{followers} (dave's 40% discount) at 0.8100: margin -0.0900 (-11.1%), cost 0.9000" in text(
        refused
    )
    assert not CustomerPricing.objects.exists()

    saved = client.post(
        "/admin/catalogue/customerpricing/add/",
        {"user": customer.pk, "discount_percent": "40", "allow_loss": "on"},
    )
    assert saved.status_code == 302
    page = text(client.get(f"/admin/catalogue/customerpricing/{CustomerPricing.objects.get().pk}/change/"))
    replies = Service.objects.get(provider_service__provider=cloud, provider_service__remote_id="7")
    said = (
        f'#{replies.pk} Instagram Comment Replies at 10.8000: <strong class="bad">-1.2000 (-11.1%) under cost'
    )
    assert said in page


def test_reprice_under_cost_is_refused_until_accepted(client, owner, cloud):
    followers = followers_of(cloud)
    Service.objects.filter(pk=followers.pk).update(manual_price=True)
    action = {"action": "reprice", "_selected_action": [followers.pk]}
    asked = text(client.post("/admin/catalogue/service/", action))
    assert f"{followers} at 1.3500: margin +0.4500 (33.3%), cost 0.9000" in asked  # the margin beside it

    reprice = {**action, "confirmed": "1", "percent": "-20", "fixed": "0", "rounding": "0.01"}
    refused = text(client.post("/admin/catalogue/service/", reprice))
    assert f"Under the current cost: {followers} at 0.7200: margin -0.1800 (-25.0%), cost 0.9000." in refused
    followers.refresh_from_db()
    assert (followers.price, followers.manual_price) == (D("1.35"), True)  # nothing written
    assert not MarkupRule.objects.filter(provider_service__isnull=False).exists()

    done = text(client.post("/admin/catalogue/service/", {**reprice, "allow_loss": "on"}, follow=True))
    assert "Repriced: 0 published, 1 repriced" in done and "margin -0.1800 (-25.0%)" in done
    followers.refresh_from_db()
    assert (followers.price, followers.manual_price) == (D("0.72"), False)


def test_moving_a_hand_set_price_to_a_dearer_provider_is_refused_until_accepted(client, owner, cloud, shop):
    followers = followers_of(cloud)
    Service.objects.filter(pk=followers.pk).update(price=D("1.00"), manual_price=True)
    _, cool = shop("smmcool")
    dearer = ProviderService.objects.get(provider=cool, remote_id="101")  # 1.25 per 1000
    move = {
        "action": "move",
        "_selected_action": [followers.pk],
        "confirmed": "1",
        "provider_service": dearer.pk,
    }

    refused = text(client.post("/admin/catalogue/service/", move))
    assert f"{followers} at 1.0000: margin -0.2500 (-25.0%), cost 1.2500." in refused
    assert Service.objects.get(pk=followers.pk).provider_service_id == followers.provider_service_id

    done = text(client.post("/admin/catalogue/service/", {**move, "allow_loss": "on"}, follow=True))
    assert f"{followers} is now sold from {dearer}, at 1.0000: margin -0.2500 (-25.0%), cost 1.2500." in done
    assert Service.objects.get(pk=followers.pk).provider_service == dearer


def test_publishservices_refuses_a_markup_under_cost_without_allow_loss(cloud, customer):
    with pytest.raises(CommandError, match=r"Nothing published, under the current cost: .*--allow-loss"):
        call_command("publishservices", cloud.name, "--markup", "-10")
    assert MarkupRule.objects.get(provider=cloud, category="").percent == 50  # the rule was not changed
    assert followers_of(cloud).price == D("1.35")

    out = StringIO()
    call_command("publishservices", cloud.name, "--markup", "-10", "--allow-loss", stdout=out)
    followers = followers_of(cloud)
    assert f"repriced #{followers.pk} {followers.name} to 0.8100: margin -0.0900 (-11.1%), cost 0.9000" in (
        out.getvalue()
    )
    assert customer_price(user=customer, service=followers) == D("0.81")

    out = StringIO()
    call_command("publishservices", cloud.name, "--markup", "20", stdout=out)
    assert f"repriced #{followers.pk} {followers.name} to 1.0800: margin +0.1800 (16.7%), cost 0.9000" in (
        out.getvalue()
    )


def test_a_currency_rate_that_puts_prices_under_cost_is_saved_with_a_warning(
    client, owner, make_provider, make_simulator
):
    provider = make_provider(make_simulator("smmcool", provider_currency="EUR"))
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    rate = CurrencyRate.objects.create(currency="EUR", rate=D("1.00"))
    call_command("publishservices", provider.name, "--markup", "20", stdout=StringIO())

    url = f"/admin/catalogue/currencyrate/{rate.pk}/change/"
    form = {"currency": "EUR", "updated_at_0": "2026-11-30", "updated_at_1": "10:00"}
    assert "under cost" not in text(client.post(url, {**form, "rate": "1.10"}, follow=True))

    warned = text(client.post(url, {**form, "rate": "1.30"}, follow=True))  # a cost move is saved, and said
    assert CurrencyRate.objects.get().rate == D("1.30")
    # All but TikTok Views (0.02 EUR, sold at 0.03 after rounding up) now sell under cost.
    said = (
        "At the rates now, 5 price(s) of 5 service(s) are under cost: see Prices under cost on the dashboard."
    )
    assert said in warned
