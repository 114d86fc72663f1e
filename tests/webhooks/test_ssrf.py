"""No customer URL reaches inside our network: every address the host resolves to is checked at send time,
the connection goes to the checked address (a DNS answer that changes meanwhile is never used), and
redirects are not followed."""

import ipaddress
import socket

import pytest
from urllib3.util import connection as urllib3_connection

from webhooks import transport
from webhooks.models import Delivery, Endpoint
from webhooks.services import deliveries_send_due, send_test_event
from webhooks.transport import address_refusal

pytestmark = pytest.mark.django_db

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",  # mapped: refused whatever it maps to
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.fixture
def guarded(settings, customer):
    """The customer's webhook under production's rules; ``send(url)`` sends a test event there."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    endpoint = Endpoint.objects.create(
        user=customer, url="https://hooks.example/", secret="whsec_" + "A" * 44
    )

    def send(url: str) -> Delivery:
        Endpoint.objects.filter(pk=endpoint.pk).update(url=url)
        delivery = send_test_event(user=customer)
        deliveries_send_due()
        delivery.refresh_from_db()
        return delivery

    return send


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1", "localhost"],
)
def test_a_private_target_is_refused_at_send_time(guarded, receiver, host):
    url = f"http://{host}:{receiver.port}/hooks"
    delivery = guarded(url)
    assert receiver.received == []
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "resolves to a" in delivery.error and delivery.response_code is None


def test_every_resolved_address_is_checked(guarded, receiver, monkeypatch):
    monkeypatch.setattr(
        transport,
        "resolve",
        lambda host, port: [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("127.0.0.1")],
    )
    delivery = guarded(f"http://hooks.example:{receiver.port}/hooks")
    assert "a loopback address (127.0.0.1)" in delivery.error
    assert receiver.received == []


def test_dns_rebinding_cannot_reach_a_private_address(guarded, monkeypatch):
    """The resolver answers a public address at the check and 127.0.0.1 after: the connection goes to the
    checked address, and nothing resolves the name a second time."""
    answers = [["93.184.215.14"], ["127.0.0.1"]]
    asked, connected = [], []

    def rebinding_resolver(host, port):
        asked.append(host)
        return [ipaddress.ip_address(a) for a in answers.pop(0)]

    def no_network(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("the test has no network")

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        assert host != "rebind.example", "the name was resolved again"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(transport, "resolve", rebinding_resolver)
    monkeypatch.setattr(urllib3_connection, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    delivery = guarded("https://rebind.example/hooks")
    assert asked == ["rebind.example"]
    assert connected == [("93.184.215.14", 443)]
    assert delivery.error == "Could not connect or the connection broke."


def test_the_pinned_connection_keeps_the_name(settings, customer, receiver, monkeypatch):
    """A name resolved by us, sent to the address we checked, with the name as its Host header."""
    from tests.webhooks.support import hook_for

    monkeypatch.setattr(transport, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    hook_for(customer, f"http://hooks.example:{receiver.port}/in")
    send_test_event(user=customer)
    deliveries_send_due()
    [request] = receiver.received
    assert request.headers["Host"] == f"hooks.example:{receiver.port}" and request.path == "/in"


def test_https_targets_are_verified_against_the_name():
    """TLS: the pool connects to the checked address but sends the name as SNI and checks the certificate
    against it."""
    import requests

    target = transport.Target(
        scheme="https", host="hooks.example", port=443, address=ipaddress.ip_address("93.184.215.14")
    )
    adapter = transport.PinnedAdapter(target)
    request = requests.Request("POST", "https://hooks.example/x").prepare()
    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)
    assert host_params["host"] == "93.184.215.14"
    assert pool_kwargs["server_hostname"] == pool_kwargs["assert_hostname"] == "hooks.example"
    assert pool_kwargs.get("cert_reqs", "CERT_REQUIRED") == "CERT_REQUIRED"
    with pytest.raises(transport.TargetRefused):
        adapter.build_connection_pool_key_attributes(
            requests.Request("POST", "https://other.example/").prepare(), True
        )


def test_a_redirect_is_not_followed(settings, customer, receiver):
    from tests.webhooks.support import Receiver, hook_for

    inside = Receiver()
    try:
        receiver.answer((302, "", {"Location": inside.url}))
        hook_for(customer, receiver.url)
        delivery = send_test_event(user=customer)
        deliveries_send_due()
        delivery.refresh_from_db()
    finally:
        inside.stop()
    assert inside.received == [] and len(receiver.received) == 1
    assert (delivery.status, delivery.response_code) == ("pending", 302)
    assert "Redirects are not followed" in delivery.error


def test_only_https_unless_allowed(settings, guarded, monkeypatch):
    settings.WEBHOOKS_ALLOW_HTTP = False
    monkeypatch.setattr(transport, "resolve", lambda host, port: [ipaddress.ip_address("8.8.8.8")])
    assert guarded("http://hooks.example/").error == "The URL must start with https://."
    assert guarded("file:///etc/passwd").error == "The URL must start with https://."


def test_a_url_resolving_to_a_private_address_is_refused_when_saved(client, customer, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(transport, "resolve", lambda host, port: [ipaddress.ip_address("10.0.0.7")])
    client.force_login(customer)
    page = client.post("/account/api/webhook/", {"action": "save", "url": "https://inside.example/"})
    assert b"resolves to a private address" in page.content
    assert not Endpoint.objects.exists()


def test_a_slow_receiver_holds_no_worker(settings, customer):
    """A receiver that accepts and never answers: the attempt ends at the total deadline."""
    import threading
    import time

    from tests.webhooks.support import hook_for

    settings.WEBHOOKS_READ_TIMEOUT, settings.WEBHOOKS_TOTAL_TIMEOUT = 5, 0.5
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted = []

        def trickle():
            conn, _ = listener.accept()
            accepted.append(conn)
            for _ in range(20):  # a byte now and then: never a whole answer, never a read timeout
                try:
                    conn.sendall(b"H")
                except OSError:
                    return
                time.sleep(0.1)

        threading.Thread(target=trickle, daemon=True).start()
        hook_for(customer, f"http://127.0.0.1:{listener.getsockname()[1]}/")
        delivery = send_test_event(user=customer)
        started = time.monotonic()
        deliveries_send_due()
        took = time.monotonic() - started
        for conn in accepted:
            conn.close()
    delivery.refresh_from_db()
    assert took < 2
    assert delivery.error in ("No answer in time.", "Could not connect or the connection broke.")
    assert delivery.status == "pending"


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example/\x00", "https://hooks .example/", "https://bücher.example/", "https://u:p@hooks.example/",
     "https:///nohost", "https://hooks.example:0/", "https://hooks.example:99999/", "javascript:alert(1)"],
)  # fmt: skip
def test_malformed_urls_are_refused_when_saved(customer, url):
    from django.core.exceptions import ValidationError

    from webhooks.services import endpoint_set

    with pytest.raises(ValidationError):
        endpoint_set(user=customer, url=url)
    assert not Endpoint.objects.exists()
