import pytest
from django.contrib.auth.models import User

from billing.services import account_for, balance_deposit
from tests.fakes.telegram import FakeTelegram

PANEL = "https://panel.example.com"


@pytest.fixture
def panel_url(settings):
    settings.PANEL_URL = PANEL
    return PANEL


@pytest.fixture
def erin(db):
    """A customer with an address (the shared ``customer`` has none)."""
    user = User.objects.create_user("erin", email="erin@example.com", password="pw")
    balance_deposit(account=account_for(user), amount=100)
    return user


@pytest.fixture
def telegram(settings):
    with FakeTelegram() as fake:
        settings.TELEGRAM_API_URL = fake.url
        yield fake


@pytest.fixture
def committed(eager_celery, django_capture_on_commit_callbacks):
    """Run ``act`` as one committed transaction, as a request or a worker does: its on-commit work (queueing
    tasks, which run at once) runs when it ends."""

    def run(act):
        with django_capture_on_commit_callbacks(execute=True):
            return act()

    return run
