"""Logs never carry a customer's API key, and server errors cannot flood the operator's inbox."""

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer, get_internal_wsgi_application
from django.db import connections
from django.test import Client
from django.utils.http import urlsafe_base64_encode

from api import v2_actions
from api.services import api_key_issue
from panels.models import Provider

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def key(db, django_user_model):
    return api_key_issue(user=django_user_model.objects.create_user("logan"))[1]


@contextmanager
def written_by(logger_name: str):
    """What the handlers configured in LOGGING for ``logger_name`` (or its parents) write."""
    streams = []
    logger = logging.getLogger(logger_name)
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                output = io.StringIO()
                streams.append((handler, handler.setStream(output), output))
        logger = logger.parent if logger.propagate else None
    assert streams, f"no stream handler for {logger_name}"
    text = io.StringIO()
    try:
        yield text
    finally:
        for handler, original, output in streams:
            handler.setStream(original)
            text.write(output.getvalue())


def test_runserver_access_lines_carry_no_key(transactional_db, key):
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)  # what `manage.py runserver` serves with
    server.set_app(get_internal_wsgi_application())

    def serve():
        try:
            server.serve_forever()
        finally:
            connections.close_all()  # this thread's connection, or the test database cannot be dropped

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    user = User.objects.get(username="logan")
    uid, token = urlsafe_base64_encode(str(user.pk).encode()), default_token_generator.make_token(user)
    try:
        with written_by("django.server") as lines:
            assert requests.get(f"{url}/api/v2?action=balance&key={key}", timeout=10).json()["balance"]
            requests.get(f"{url}/api/v2?key=not-even-a-key&action=balance", timeout=10)
            requests.get(f"{url}/nowhere/{key}", timeout=10)
            # A password reset link, as its owner opens it: whoever reads the log must not follow it first.
            assert requests.get(f"{url}/accounts/reset/{uid}/{token}/", timeout=10).history
            server.shutdown()  # after the last request's line: it is written once the answer is sent
            thread.join()
    finally:
        server.server_close()
    logged = lines.getvalue()
    assert "GET /api/v2?action=balance&key=*** HTTP/1.1" in logged
    assert "key=***&action=balance" in logged and "not-even-a-key" not in logged
    assert key not in logged and f"/nowhere/{key.partition('.')[0]}.***" in logged
    assert token not in logged and f"GET /accounts/reset/{uid}/***/ HTTP/1.1" in logged
    assert f"/accounts/reset/{uid}/set-password/" in logged


def test_django_request_warnings_and_tracebacks_carry_no_key(client, key):
    with written_by("django.request") as lines:
        assert client.get(f"/api/v1/orders/{key}/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 404
        try:
            raise ValueError(f"a message quoting {key}")
        except ValueError:
            logging.getLogger("django.request").exception("Failed with key=%s", key)
    logged = lines.getvalue()
    assert "Not Found: /api/v1/orders/" in logged and "ValueError: a message quoting" in logged
    assert key not in logged


@pytest.fixture
def failing_balance(monkeypatch):
    def boom(user, params):
        raise RuntimeError("the balance broke")

    monkeypatch.setitem(v2_actions.ACTIONS, "balance", boom)


def test_each_distinct_error_is_mailed_once_per_window_without_the_key(
    db, key, failing_balance, settings, monkeypatch
):
    settings.ADMIN_MAIL_THROTTLE_MINUTES = 1 / 60  # one second
    browser = Client(raise_request_exception=False)
    for _ in range(5):
        response = browser.get(f"/api/v2?key={key}&action=balance", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 500
    assert len(mail.outbox) == 1
    first = mail.outbox[0]
    assert "the balance broke" in first.body and "/api/v2" in first.body
    assert key not in first.subject + first.body and "key=***" in first.body

    monkeypatch.setitem(v2_actions.ACTIONS, "status", lambda user, params: 1 / 0)  # another error
    browser.get(f"/api/v2?key={key}&action=status")
    assert len(mail.outbox) == 2 and "ZeroDivisionError" in mail.outbox[1].body

    time.sleep(1.1)
    browser.get(f"/api/v2?key={key}&action=balance")
    assert len(mail.outbox) == 3
    assert "[4 more like this were not mailed]" in mail.outbox[2].subject


def test_error_mails_are_throttled_even_when_the_cache_is_down(db, key, failing_balance, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr("reseller.log.cache.add", broken)
    browser = Client(raise_request_exception=False)
    for _ in range(3):
        browser.get(f"/api/v2?key={key}&action=balance")
    assert len(mail.outbox) == 1


def test_error_mails_hide_secret_form_fields_and_passwords_in_urls(db, settings, monkeypatch):
    """Django hides POST fields only where a view declares them sensitive: the admin's provider form (its
    api_key) and the sign-up form (its passwords) never did, and REDIS_URL's password is in no setting's name."""
    settings.REDIS_URL = "redis://:redis-password-1@cache:6379/0"
    settings.CACHES = {
        **settings.CACHES,
        "mirror": {"LOCATION": ["rediss://panel:redis-password-2@cache:6380"]},
    }
    provider = Provider.objects.create(
        name="Upstream", api_url="https://up.example/api/v2", api_key="old-key"
    )

    def boom(**kwargs):
        raise RuntimeError("it broke")

    monkeypatch.setattr("reseller.log.ThrottledAdminEmailHandler._admit", lambda handler, fingerprint: 0)
    monkeypatch.setattr("panels.admin.provider_key_for", boom)
    monkeypatch.setattr("accounts.views.sign_up_request", boom)
    operator = Client(raise_request_exception=False)
    operator.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    change = {
        "name": "Upstream",
        "api_url": "https://up.example/api/v2",
        "api_key": "provider-key-0123456789",
    }
    assert operator.post(f"/admin/panels/provider/{provider.pk}/change/", change).status_code == 500
    password = "Tr0ub4dor&3-horse"
    sign_up = {"username": "newbie", "email": "n@example.com", "password1": password, "password2": password}
    sign_up["timezone"] = "UTC"
    assert Client(raise_request_exception=False).post("/accounts/sign-up/", sign_up).status_code == 500

    mailed = "".join(message.body for message in mail.outbox)
    assert len(mail.outbox) == 2 and "name = 'Upstream'" in mailed and "username = 'newbie'" in mailed
    for field in ("api_key", "password1", "password2"):
        assert f"{field} = '********************'" in mailed
    assert "provider-key-0123456789" not in mailed and password not in mailed
    assert "REDIS_URL = 'redis://:********************@cache:6379/0'" in mailed
    assert "redis-password" not in mailed


def test_gunicorn_access_lines_carry_no_key(tmp_path, unused_tcp_port, key):
    """The Dockerfile's command line, run for real, on a loopback port and with the access log in a file."""
    command = json.loads((ROOT / "Dockerfile").read_text().split("\nCMD", 1)[1].replace("\\\n", ""))
    assert command[:2] == ["gunicorn", "reseller.wsgi:application"]
    bind, access_log = f"127.0.0.1:{unused_tcp_port}", tmp_path / "access.log"
    options = dict(zip(command[2::2], command[3::2], strict=True))
    options |= {"--bind": bind, "--workers": "1", "--access-logfile": str(access_log)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", command[1], *(part for pair in options.items() for part in pair)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "reseller.settings.test"},
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(f"http://{bind}/")
        requests.get(
            f"http://{bind}/nowhere?action=balance&key={key}",
            headers={"Referer": f"/x?key={key}"},
            timeout=30,
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    logged = access_log.read_text()
    assert "GET /nowhere?action=balance&key=*** HTTP/1.1" in logged and '"/x?key=***"' in logged
    assert key not in logged


def _wait_until_listening(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its worker still booting
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")
