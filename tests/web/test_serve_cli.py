"""`memo-desktop serve` and `worker --http` as a user runs them: the first stdout line (with the token only on a
terminal), SIGTERM/SIGINT end it with 0, a reachable bind without a chosen token is refused."""

from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.core.conftest import REPO
from tests.fixtures.waiting import wait_until
from tests.fixtures.web import TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    environ.update(PYTHONPATH=str(REPO), **extra)
    return environ


def start(data_dir, redis_url, *args: str, tty: bool = False, **env: str):
    argv = [sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), "--redis-url", redis_url, *args]
    if tty:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(argv, cwd=REPO, env=environment(**env), stdin=subprocess.DEVNULL, stdout=follower,
                                stderr=subprocess.PIPE)
        os.close(follower)
        return proc, leader
    return subprocess.Popen(argv, cwd=REPO, env=environment(**env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), None


def first_line_of_tty(fd: int, timeout: float = 30) -> str:
    data, deadline = b"", time.monotonic() + timeout
    while b"\n" not in data and time.monotonic() < deadline:
        try:
            data += os.read(fd, 1024)
        except OSError:
            break
    return data.split(b"\n")[0].decode().strip()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_the_dashboard_without_the_token_when_not_a_terminal_and_stops_on_signals(data_dir, redis_url,
                                                                                              sig):
    port = free_port()
    proc, _ = start(data_dir, redis_url, "serve", "--port", str(port), MEMO_HTTP_TOKEN=TOKEN)
    try:
        line = proc.stdout.readline().strip()
        assert line == f"dashboard: http://127.0.0.1:{port}/queue"
        health = httpx.get(f"http://127.0.0.1:{port}/api/queue/health", headers={"authorization": f"Bearer {TOKEN}"})
        assert health.status_code == 200 and health.json()["redis"] == "connected"
        proc.send_signal(sig)
        assert proc.wait(20) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_serve_on_a_terminal_prints_the_link_with_the_token(data_dir, redis_url):
    port = free_port()
    proc, leader = start(data_dir, redis_url, "serve", "--port", str(port), tty=True)
    try:
        line = first_line_of_tty(leader)
        assert line.startswith(f"dashboard: http://127.0.0.1:{port}/queue?token=")
        token = line.split("token=", 1)[1]
        signed_in = httpx.get(line.split(" ", 1)[1], follow_redirects=False)
        assert signed_in.status_code == 303 and token in signed_in.headers["set-cookie"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_bind_other_machines_reach_is_refused_without_a_chosen_token(data_dir, redis_url):
    proc, _ = start(data_dir, redis_url, "serve", "--host", "0.0.0.0", "--port", str(free_port()))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and out == ""
    last = err.strip().splitlines()[-1]  # (a fresh data dir may be tightened first, which is logged)
    assert last.startswith("memo-desktop: error: refusing to listen on 0.0.0.0") and "MEMO_HTTP_TOKEN" in last
    assert "Traceback" not in err


def test_a_port_in_use_is_a_clear_error(data_dir, redis_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc, _ = start(data_dir, redis_url, "serve", "--port", str(taken.getsockname()[1]))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "cannot listen on 127.0.0.1" in err and "Traceback" not in err


def test_worker_with_http_serves_the_dashboard_beside_its_jobs(data_dir, redis_url):
    port = free_port()
    proc, _ = start(data_dir, redis_url, "worker", "--queues", "file-process", "--concurrency", "1",
                    "--http", f"127.0.0.1:{port}", MEMO_HTTP_TOKEN=TOKEN)
    try:
        assert proc.stdout.readline().strip() == f"dashboard: http://127.0.0.1:{port}/queue"
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"authorization": f"Bearer {TOKEN}"})
        workers = wait_until(lambda: [w for w in client.get("/api/queue/snapshot").json()["workers"]
                                      if "file-process" in w["queues"]], 15, "the worker to register")
        assert len(workers) == 1
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
