"""HTTPS to a pinned address: the connection goes to the checked address, while SNI and the certificate
check use the URL's name (a real TLS receiver on 127.0.0.1 with a certificate for hooks.example)."""

import datetime as dt
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests.adapters
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.webhooks.support import hook_for
from webhooks import transport
from webhooks.models import Delivery
from webhooks.services import deliveries_send_due, send_test_event

pytestmark = pytest.mark.django_db


def self_signed(name: str, folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    cert_file, key_file = self_signed("hooks.example", tmp_path)
    seen = {"sni": [], "hosts": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["hosts"].append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    # The test's certificate is the only one trusted; every name resolves to the receiver.
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", cert_file)
    monkeypatch.setattr(transport, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_the_name_is_the_sni_and_the_certificates_name(customer, tls_receiver):
    port, seen = tls_receiver
    hook_for(customer, f"https://hooks.example:{port}/in")
    delivery = send_test_event(user=customer)
    deliveries_send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == (Delivery.Status.DELIVERED, 204)
    assert seen["sni"] == ["hooks.example"] and seen["hosts"] == [f"hooks.example:{port}"]


def test_a_certificate_for_another_name_is_refused(customer, tls_receiver):
    port, seen = tls_receiver
    hook_for(customer, f"https://other.example:{port}/in")
    delivery = send_test_event(user=customer)
    deliveries_send_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.response_code is None
    assert seen["hosts"] == [] and seen["sni"] == ["other.example"]
