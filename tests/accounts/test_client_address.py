"""Behind a TLS proxy: the client's address comes from X-Forwarded-For for the trusted proxies only, and it is
the one address used by login lockouts, the API's anonymous throttle (an IPv6 client's by its /64) and the API
request log."""

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory, override_settings

from api.models import ApiRequest
from api.services import api_key_issue
from reseller.client_ip import client_ip, client_limit_key

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"  # what REMOTE_ADDR says for every visitor behind the proxy
ALICE, MALLORY = "198.51.100.7", "203.0.113.5"


def login(client, password, forwarded_for):
    return client.post(
        "/accounts/login/",
        {"username": "owner", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        (0, f"{ALICE}", PROXY),  # no proxy configured: the header is the client's own words
        (1, f"{ALICE}", ALICE),
        (1, f"{ALICE}, {MALLORY}", MALLORY),  # the proxy appended MALLORY; ALICE was written by the client
        (2, f"{ALICE}, {MALLORY}", ALICE),
        (2, f"{MALLORY}", PROXY),  # fewer entries than proxies: not through them all
        (1, "", PROXY),
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
        # Load balancers that write the client's port (Azure's, IIS ARR): still the client, not the proxy.
        (1, f"{ALICE}, {MALLORY}:51234", MALLORY),
        (1, "[2001:DB8::7]:443", "2001:db8::7"),
        (1, "[2001:db8::7]", "2001:db8::7"),
        (1, f"{MALLORY}:1:2", PROXY),
    ],
)
def test_client_address_is_read_for_the_trusted_proxies_only(trusted, forwarded_for, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    with override_settings(TRUSTED_PROXY_COUNT=trusted):
        assert client_ip(request) == expected


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_failures_from_one_address_do_not_lock_the_owner_out_from_another(client):
    User.objects.create_user("owner", password="Owner-pass-42", is_staff=True)
    for _ in range(4):
        assert login(client, "wrong", MALLORY).status_code == 200
    assert login(client, "wrong", MALLORY).status_code == 429
    assert login(client, "Owner-pass-42", MALLORY).status_code == 429
    # Extra entries the attacker writes in front of the proxy's do not choose the address.
    assert login(client, "Owner-pass-42", f"{ALICE}, {MALLORY}").status_code == 429

    assert login(client, "Owner-pass-42", ALICE).status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_spoofed_entries_do_not_spread_failures_over_many_addresses(client):
    User.objects.create_user("owner", password="Owner-pass-42")
    for n in range(5):
        login(client, "wrong", f"192.0.2.{n}, {MALLORY}")
    assert login(client, "Owner-pass-42", MALLORY).status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_an_ipv6_attacker_is_locked_out_by_network_not_by_address(client):
    """One subscriber holds a /64: walking through its addresses must not buy more guesses. Another network
    still logs in, and the request log keeps each full address."""
    User.objects.create_user("owner", password="Owner-pass-42")
    for n in range(5):
        login(client, "wrong", f"2001:db8:aa:bb::{n + 1:x}")
    assert login(client, "Owner-pass-42", "2001:db8:aa:bb:ffff:ffff:ffff:fffe").status_code == 429
    assert login(client, "Owner-pass-42", "[2001:db8:aa:bb::99]:50000").status_code == 429
    assert login(client, "Owner-pass-42", "2001:db8:aa:cc::1").status_code == 302
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="[2001:db8:aa:bb::99]:1")
    assert (client_ip(request), client_limit_key(request)) == ("2001:db8:aa:bb::99", "2001:db8:aa:bb::")
    mapped = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"::ffff:{ALICE}")
    assert client_limit_key(mapped) == ALICE


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_api_request_log_records_the_client_address(client):
    user = User.objects.create_user("rita")
    _, key = api_key_issue(user=user)
    client.post(
        "/api/v2",
        {"key": key, "action": "balance"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{ALICE}, {MALLORY}",
    )
    assert ApiRequest.objects.get(user=user).ip == MALLORY
