"""A fresh embedded install works after ``manage.py migrate`` alone: nothing else to remember (the database
cache table included)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A reseller's first calls, with a wrong key and with a good one (the per-key throttle counts in the cache).
FIRST_CALLS = """
import json
from django.test import Client
from accounts.services import customer_sign_up
from api.services import api_key_issue

_, key = api_key_issue(user=customer_sign_up(username="first", email="first@example.com", password="pw-Long-1"))
client = Client(raise_request_exception=False, HTTP_HOST="localhost")
answers = [client.post("/api/v2", {"key": k, "action": "balance"}) for k in ("not-a-key", key)]
print(json.dumps([[answer.status_code, answer.content.decode()[:300]] for answer in answers]))
"""


def _manage(tmp_path: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),  # embedded defaults: no DATABASE_URL, no REDIS_URL
        "DJANGO_SETTINGS_MODULE": "reseller.settings.local",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_migrate_alone_gives_a_working_api(tmp_path):
    _manage(tmp_path, "migrate", "--verbosity", "0")
    output = _manage(tmp_path, "shell", "--no-imports", "-c", FIRST_CALLS)
    (bad_status, bad_body), (good_status, good_body) = json.loads(output.strip().splitlines()[-1])
    assert (bad_status, json.loads(bad_body)) == (200, {"error": "Invalid API key"})
    assert (good_status, json.loads(good_body)) == (200, {"balance": "0.00", "currency": "USD"})
