"""The embedded redis-server: shared by the processes of one data dir, reused after a crash, stopped by its last
user, durable across kill -9 (AOF), and reachable from data dirs with very long paths."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import redis

from memo_desktop.core.config import load_settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.services import ObjectStoreServer, RedisServer
from memo_desktop.core.services.managed import pid_alive
from memo_desktop.core.services.redis_server import MAX_SOCKET_PATH, socket_path
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.core.conftest import JOBS, QUEUE, job, state_of, wait_until


@pytest.fixture
def short_dir():
    """A data dir with a short path (pytest's tmp paths are too long for a socket in the dir itself)."""
    path = Path(tempfile.mkdtemp(prefix="md-", dir="/tmp"))
    yield path
    for server in (RedisServer(path / "services" / "redis"), ObjectStoreServer(path / "services" / "object-store")):
        if server.status().running:  # a failed test must not leave a service behind
            server.stop()
    shutil.rmtree(path, ignore_errors=True)


def _embedded(data_dir: Path, **changes) -> AppContext:
    return AppContext(load_settings({"data_dir": str(data_dir), "job_modules": JOBS, "rate_limit": 0, **changes},
                                    environ={}))


def _server(data_dir: Path) -> RedisServer:
    return RedisServer(data_dir / "services" / "redis")


def test_second_context_reuses_the_server_and_the_last_user_stops_it(short_dir):
    first, second = _embedded(short_dir), _embedded(short_dir)
    try:
        assert first.redis_url == second.redis_url == f"unix://{short_dir}/services/redis/redis.sock"
        pid = _server(short_dir).status().pid
        first.redis.set("shared", "yes")
        assert second.redis.get("shared") == b"yes"
        first.close()
        assert second.redis.ping(), "closing one context stopped the server another one still uses"
        assert _server(short_dir).status().pid == pid
    finally:
        first.close()
        second.close()
    assert not pid_alive(pid)
    assert not socket_path(short_dir / "services" / "redis").exists()


def test_server_of_a_killed_process_is_reused_then_stopped_by_the_last_user(short_dir, worker_process):
    owner = worker_process("owner", "--concurrency", "1", data_dir=short_dir, embedded_redis=True)
    owner.wait_started()
    status = _server(short_dir).status()
    assert status.running and status.users == (str(owner.pid),)
    redis.Redis.from_url(status.address).set("written-before-crash", "1")
    owner.kill(signal.SIGKILL)
    owner.wait(5)
    assert pid_alive(status.pid), "redis-server should outlive its SIGKILLed owner"

    ctx = _embedded(short_dir)
    try:
        assert ctx.redis_url == status.address
        assert _server(short_dir).status().pid == status.pid  # reused, not restarted
        assert ctx.redis.get("written-before-crash") == b"1"
        assert _server(short_dir).status().users == (str(os.getpid()),)  # the dead owner's lease is dropped
    finally:
        ctx.close()
    assert not pid_alive(status.pid)


def test_a_very_long_data_dir_gets_a_short_socket(tmp_path):
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 5)
    deep.mkdir(parents=True)
    root = deep / "services" / "redis"
    assert len(str(root / "redis.sock")) > MAX_SOCKET_PATH
    ctx = _embedded(deep)
    try:
        sock = socket_path(root)
        assert ctx.redis_url == f"unix://{sock}"
        assert len(str(sock).encode()) <= MAX_SOCKET_PATH and sock.is_socket()
        assert ctx.redis.ping()
        pid = _server(deep).status().pid
    finally:
        ctx.close()
    assert not pid_alive(pid) and not sock.exists()


def test_queued_jobs_survive_redis_being_killed_and_restarted(short_dir):
    server = RedisServer(short_dir / "redis-under-test")
    url = server.acquire()
    ctx = _embedded(short_dir, redis_url=url, keep_completed=1000)
    try:
        ids = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(200)]
        pid = server.status().pid
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 5, message="redis-server to die")
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()

        began = time.monotonic()
        assert server.acquire() == url  # restarted on the same socket, replaying the AOF
        assert server.status().pid != pid and time.monotonic() - began < 5
        assert ctx.jobs.queue(QUEUE).count == 200
        assert {state_of(ctx.jobs, i) for i in ids} == {"waiting"}

        pool = start_worker_pool(ctx, WorkerPlan(burst=True, concurrency=2))
        pool.join()
        assert {state_of(ctx.jobs, i) for i in ids} == {"completed"}
        assert ctx.jobs.status(ids[-1]).result == {"echo": 199}
    finally:
        ctx.close()
        server.release()
        server.release()  # acquired twice: once at start, once to restart it
    assert not server.status().running
