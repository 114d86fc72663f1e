import pytest

from accounts.services import customer_sign_up


@pytest.fixture
def make_customer(db):
    def make(username="cleo"):
        return customer_sign_up(username=username, email=f"{username}@example.com", password="pw-Secret-123")

    return make
