from decimal import Decimal

import pytest

from accounts.services import customer_sign_up
from billing.services import account_for, balance_deposit


@pytest.fixture
def make_customer(db):
    def make(username="cleo", funds="100"):
        user = customer_sign_up(username=username, email=f"{username}@example.com", password="pw-Secret-123")
        if Decimal(funds):
            balance_deposit(account=account_for(user), amount=Decimal(funds))
        return user

    return make


@pytest.fixture
def signed_in(client, make_customer):
    user = make_customer()
    client.force_login(user)
    client.user = user
    return client

