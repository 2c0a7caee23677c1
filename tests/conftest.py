"""Shared fixtures: real services in temporary dirs, nothing touches the user's real config or data.

Qt must be told its platform before any Qt import (pytest-qt cannot do it), hence the env var at the top.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import signal
import threading
from pathlib import Path

import pytest
import redis

from memo_desktop.core.config import Settings, load_settings
from memo_desktop.core.services import RedisServer
# object-store fixtures (a session `weed mini`): object_store_server, object_store, s3_settings
from tests.fixtures.object_store import object_store, object_store_server, s3_settings  # noqa: F401
from tests.fixtures.processes import processes_mentioning
from tests.fixtures.threads import threads_left


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_processes(tmp_path_factory):
    """After the whole session (set up first, so torn down last): no process may still run from this session's
    temporary dirs (an embedded redis-server or weed whose owner a test killed, a worker, the app...). Any found is
    killed, and the session errors naming it."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    leftovers = processes_mentioning(base)
    for pid, _ in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not leftovers, f"the tests left processes running: {leftovers}"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Point XDG dirs (config, data, state) at a temp dir and drop MEMO_* from the environment."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    for key in list(os.environ):
        if key.startswith("MEMO_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory):
    """One real redis-server for the session (the app's own embedded-service code starts it)."""
    server = RedisServer(tmp_path_factory.mktemp("redis-service"))
    url = server.acquire()
    yield server, url
    server.stop()


@pytest.fixture
def redis_url(redis_service) -> str:
    """The session Redis, emptied before each test (like rq's own tests, never run against a database in use)."""
    _, url = redis_service
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


@pytest.fixture
def redis_conn(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir, redis_url) -> Settings:
    """Settings on a temp data dir and the session Redis; fast retries so tests of timing stay short."""
    return load_settings({"data_dir": str(data_dir), "redis_url": redis_url}, environ={})


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Fail a test that leaves any thread running, daemon or not: workers, recorders, watchers, runtimes must be
    stopped by their owner. (The UI tests' own check adds QThreads and Qt thread pools.)"""
    before = set(threading.enumerate())
    yield
    leaked = threads_left(before)
    assert not leaked, f"test left threads running: {leaked}"
