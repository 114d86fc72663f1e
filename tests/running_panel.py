"""A second panel instance run by ``manage.py runpanel`` in a process of its own, on its embedded defaults
(its own SQLite database, file broker, worker and scheduler under a temporary VAR_DIR)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings as django_settings

BASE_DIR = Path(django_settings.BASE_DIR)


class RunningPanel:
    def __init__(self, tmp_path: Path, port: int, **env: str):
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "VAR_DIR": str(tmp_path / "panel"),
            "DJANGO_SETTINGS_MODULE": "reseller.settings.local",
            "STATUS_SYNC_SECONDS": "2",
            "HEARTBEAT_SECONDS": "2",
            "RATELIMIT_NAMESPACE": f"panel-{port}",
            **env,
        }
        self.process = self.log = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,  # migrating takes over two minutes on a machine loaded ten times over
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def commands(self, *commands: tuple[str, ...]) -> list[str]:
        """Management commands run one after the other in one process (each process costs some 3 s of CPU to
        start Django): what each wrote."""
        script = (
            "import io, json\n"
            "from django.core.management import call_command\n"
            "outputs = []\n"
            f"for argv in {json.dumps(commands)}:\n"
            "    out = io.StringIO()\n"
            "    call_command(*argv, stdout=out)\n"
            "    outputs.append(out.getvalue())\n"
            "print(json.dumps(outputs))\n"
        )
        return json.loads(self.manage("shell", "--no-imports", "-c", script).splitlines()[-1])

    def migrate(self, migrated: Path) -> None:
        """The database ``manage.py migrate`` makes, as a copy of ``migrated`` (the ``panel_database``
        fixture's, made once per run: migrating takes some 15 s of CPU)."""
        Path(self.env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated, Path(self.env["VAR_DIR"]) / "db.sqlite3")

    def start(self) -> None:
        self.log = open(Path(self.env["VAR_DIR"]) / "runpanel.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runpanel", "--no-simulator", "--port", str(self.port)],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/", timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a slow first answer
                time.sleep(0.3)
        raise AssertionError("the panel did not start:\n" + self.logs())

    def processes(self) -> list[int]:
        """Every process of this panel (runpanel and its children), found by the VAR_DIR they run with."""
        marker = f"VAR_DIR={self.env['VAR_DIR']}".encode()
        pids = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
            except OSError:
                continue  # gone meanwhile, or not ours
        return pids

    def logs(self) -> str:
        return (Path(self.env["VAR_DIR"]) / "runpanel.log").read_text()[-5000:]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        if self.log:
            self.log.close()
