"""A wrong Redis password says so everywhere (it used to be reported as "Redis unreachable": redis-py's
AuthenticationError is a ConnectionError), and never shows the password."""

from __future__ import annotations

import json

import pytest

from memo_desktop.core.config import load_settings
from memo_desktop.core.errors import RedisAuthError, RedisUnavailable
from memo_desktop.core.redis_errors import check_url
from memo_desktop.core.runtime import Runtime, RuntimePlan, WorkerPlan
from tests.core.test_cli_queue import memo
from tests.fixtures.audio import write_tone
from tests.fixtures.redis_servers import test_redis  # noqa: F401  (fixture)


@pytest.fixture
def locked_redis(test_redis):
    return test_redis(password="the-right-one").start()


def test_health_says_the_credentials_were_refused(locked_redis, data_dir):
    text = memo("--redis-url", locked_redis.url(password="wrong"), "health", data_dir=data_dir)
    assert text.returncode == 1
    assert text.stdout.startswith("redis: disconnected - Redis at unix://") and "refused the credentials" in text.stdout
    data = json.loads(memo("--redis-url", locked_redis.url(password="wrong"), "health", "--json",
                           data_dir=data_dir).stdout)
    assert data["redis"] == "disconnected" and "refused the credentials" in data["error"]
    missing = memo("--redis-url", locked_redis.url(password=""), "health", data_dir=data_dir)
    assert "refused the credentials" in missing.stdout  # no password at all: NOAUTH, the same words
    assert "wrong" not in text.stdout + text.stderr and "the-right-one" not in text.stdout


def test_upload_keeps_the_memo_and_says_why(locked_redis, data_dir, tmp_path):
    tone = write_tone(tmp_path / "tone.wav", 0.5)
    result = memo("--redis-url", locked_redis.url(password="wrong"), "upload", str(tone), data_dir=data_dir)
    assert result.returncode == 0, result.stderr  # the memo is safe in the library
    assert "kept local" in result.stdout and "refused the credentials" in result.stdout
    assert "once the setting is fixed" in result.stdout
    listed = json.loads(memo("memos", "--json", data_dir=data_dir).stdout)
    assert [m["uploadState"] for m in listed] == ["local"]


def test_job_status_says_the_credentials_were_refused(locked_redis, data_dir):
    result = memo("--redis-url", locked_redis.url(password="wrong"), "job", "x", data_dir=data_dir)
    assert result.returncode == 1 and "refused the credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_boundary_tells_refused_from_unreachable(locked_redis, tmp_path):
    with pytest.raises(RedisAuthError, match="refused the credentials"):
        check_url(locked_redis.url(password="wrong"))
    with pytest.raises(RedisUnavailable, match="is not reachable") as unreachable:
        check_url(f"unix://{tmp_path}/nobody.sock")
    assert not isinstance(unreachable.value, RedisAuthError)
    check_url(locked_redis.url())


def test_a_waiting_runtime_reports_refused_credentials_once(locked_redis, data_dir):
    """The GUI's plan keeps the runtime up (the library works) and says why once; it probes with capped backoff."""
    settings = load_settings({"data_dir": str(data_dir), "redis_url": locked_redis.url(password="wrong")},
                             environ={})
    runtime = Runtime(settings, RuntimePlan(workers=WorkerPlan(), wait_for_redis=True, refused_is_fatal=False))
    try:
        report = runtime.start()
        assert len(report.problems) == 1 and "refused the credentials" in report.problems[0]
        assert runtime.pool is None and not runtime.finished
        assert runtime.connections["redis"].connected is False
    finally:
        runtime.stop()
