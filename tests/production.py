"""``manage.py`` run in a process of its own on the production settings, with no DJANGO_ variable but those
given."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "reseller.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
