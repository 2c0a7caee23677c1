"""`memo-desktop services start | status | stop` as a user runs them (a real process, a real data dir)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.object_store import assert_service_gone

REPO = Path(__file__).resolve().parents[2]


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def test_services_start_status_stop(tmp_path):
    data_dir = tmp_path / "data"
    started = _cli(data_dir, "services", "start")
    try:
        assert started.returncode == 0, started.stderr
        status = _cli(data_dir, "services", "status", "--json")
        assert status.returncode == 0, status.stderr
        info = json.loads(status.stdout)
        secret = json.loads((data_dir / "services" / "object-store" / "credentials.json").read_text())["secret_key"]

        assert "redis: running at unix://" in started.stdout
        assert "object store: running at http://127.0.0.1:" in started.stdout
        for key in ("redis", "objectStore"):
            assert info[key]["mode"] == "embedded" and info[key]["running"] is True
            assert info[key]["users"] == ["pinned"], "start pins: the services outlive the command"
        assert info["objectStore"]["address"] in started.stdout
        assert secret not in started.stdout + status.stdout + started.stderr + status.stderr
    finally:
        stopped = _cli(data_dir, "services", "stop", "--json")

    assert stopped.returncode == 0, stopped.stderr
    after = json.loads(stopped.stdout)
    assert after["redis"]["running"] is False and after["objectStore"]["running"] is False
    for key in ("redis", "objectStore"):
        assert_service_gone(info[key]["pid"])


def test_externally_configured_services_are_reported_with_the_password_masked(tmp_path):
    result = _cli(tmp_path / "data", "--redis-url", "redis://:hunter2@redis.example:6379/0",
                  "--s3-endpoint", "https://s3.example.com", "services", "status", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "redis": {"mode": "external", "url": "redis://:***@redis.example:6379/0"},
        "objectStore": {"mode": "external", "url": "https://s3.example.com"},
    }
    assert not (tmp_path / "data" / "services").exists(), "nothing started for external services"
