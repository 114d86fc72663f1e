"""Fuzzing both APIs: whatever arrives, never a server error, and a refused API v2 call writes nothing."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from api.v2_actions import ACTIONS, KNOWN_FIELDS
from billing.models import LedgerEntry
from orders.models import Order, Refill
from tests.orders.support import data_for, service_of
from tests.profiles import examples

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def fuzzed_shop(shop, make_reseller):
    """A shop with a customer who already has orders, so ids in the fuzzed calls can hit real rows."""
    _, provider = shop("smmcloud")
    reseller = make_reseller(funds="1000")
    service = service_of(provider, "Default")
    for n in range(3):
        reseller.call("add", service=service.pk, **data_for(service, link=f"https://x.example/{n}"))
    return reseller


def _rest_operations():
    from drf_spectacular.generators import SchemaGenerator

    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    return [result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()]


@pytest.mark.parametrize("operation", _rest_operations(), ids=lambda operation: operation.label)
def test_rest_api_never_fails(transactional_db, live_server, fuzzed_shop, operation):
    """Every operation of the OpenAPI schema, with schemathesis-generated parameters and bodies, over HTTP."""

    @given(case=operation.as_strategy())
    @FUZZ
    def fuzz(case):
        response = case.call(base_url=live_server.url, headers={"Authorization": f"Bearer {fuzzed_shop.key}"})
        assert response.status_code < 500, (case.path, case.query, case.body, response.text[:500])
        case.validate_response(response, checks=[not_a_server_error])

    fuzz()


scalars = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["1", "2", "3", "0", "-1", "1,2,3", "https://x.example/p", "a\nb", "31/12/2030", ""]),
)
field_names = st.one_of(
    st.sampled_from(sorted(KNOWN_FIELDS - {"key", "action"})), st.text(min_size=1, max_size=12)
)
v2_calls = st.fixed_dictionaries(
    {"action": st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=12))},
    optional={"fields": st.dictionaries(field_names, scalars, max_size=6)},
)


@given(call=v2_calls, as_json=st.booleans())
@FUZZ
def test_api_v2_answers_every_input_in_its_shape(client, fuzzed_shop, call, as_json):
    body = {"key": fuzzed_shop.key, "action": call["action"], **call.get("fields", {})}
    before = (Order.objects.count(), LedgerEntry.objects.count(), Refill.objects.count())
    if as_json:
        response = client.post("/api/v2", json.dumps(body), content_type="application/json")
    else:
        response = client.post("/api/v2", body)
    assert response.status_code in (200, 429)
    answer = response.json()
    assert isinstance(answer, dict | list)
    if isinstance(answer, dict) and set(answer) == {"error"}:
        assert isinstance(answer["error"], str) and answer["error"]
        assert (Order.objects.count(), LedgerEntry.objects.count(), Refill.objects.count()) == before


# Any text (unpaired surrogates and NULs included, which JSON escapes carry) in any shape and depth.
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=12,
)
json_fields = st.dictionaries(
    st.sampled_from(sorted(KNOWN_FIELDS - {"key"})) | any_text, json_values, max_size=6
)


def _written():
    return Order.objects.count(), LedgerEntry.objects.count(), Refill.objects.count()


@given(fields=json_fields, nesting=st.sampled_from([0, 1, 40, 5000]))
@FUZZ
def test_both_apis_answer_any_json_in_their_shape(client, fuzzed_shop, fields, nesting):
    body = json.dumps({"key": fuzzed_shop.key, **fields}) if not nesting else "[" * nesting + "]" * nesting
    before = _written()
    response = client.post("/api/v2", body, content_type="application/json", HTTP_X_API_KEY=fuzzed_shop.key)
    assert response.status_code == 200
    answer = response.json()
    if isinstance(answer, dict) and set(answer) == {"error"}:
        assert _written() == before
    before = _written()
    response = client.post(
        "/api/v1/orders/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {fuzzed_shop.key}",
    )
    assert response.status_code in (201, 400, 402), response.content[:300]
    if response.status_code != 201:
        assert _written() == before
