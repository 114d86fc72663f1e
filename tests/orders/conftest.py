from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from billing.services import account_for, balance_deposit
from orders.storefront import services_publish
from panels.catalogue import catalogue_sync
from panels.services import balance_sync


@pytest.fixture
def synced_provider(make_provider, simulator):
    """A provider with its balance (hence currency) and catalogue synced from the simulator."""
    provider = make_provider(simulator)
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    return provider


@pytest.fixture
def shop(make_provider, make_simulator):
    """A seed provider (smmcloud unless told), balance and catalogue synced, published at +50%."""

    def make(dialect="smmcloud", **options):
        server = make_simulator(dialect, **options)
        provider = make_provider(server, name=dialect)
        balance_sync(provider=provider)
        catalogue_sync(provider=provider)
        services_publish(provider=provider, percent=Decimal(50))
        return server, provider

    return make


@pytest.fixture
def customer(db):
    user = User.objects.create_user("dave")
    balance_deposit(account=account_for(user), amount=Decimal("100"))
    return user
