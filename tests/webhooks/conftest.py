import pytest

from tests.webhooks.support import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()
