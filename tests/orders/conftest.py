import pytest

from panels.catalogue import catalogue_sync
from panels.services import balance_sync


@pytest.fixture
def synced_provider(make_provider, simulator):
    """A provider with its balance (hence currency) and catalogue synced from the simulator."""
    provider = make_provider(simulator)
    balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    return provider
