import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from api.services import api_key_issue
from billing.services import account_for, balance_deposit


class Reseller:
    """A customer calling API v2 with their key through the whole Django stack."""

    def __init__(self, client, user, key):
        self.client, self.user, self.key = client, user, key

    def call(self, action, **fields):
        response = self.client.post("/api/v2", {"key": self.key, "action": action, **fields})
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        return json.loads(response.content)

    def rest(self, method, path, data=None):
        return getattr(self.client, method)(
            f"/api/v1/{path}", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {self.key}"
        )


@pytest.fixture
def make_reseller(db, client):
    def make(username="rita", funds="100"):
        user = User.objects.create_user(username)
        if Decimal(funds):
            balance_deposit(account=account_for(user), amount=Decimal(funds))
        _, key = api_key_issue(user=user)
        return Reseller(client, user, key)

    return make


@pytest.fixture
def reseller(make_reseller):
    return make_reseller()
