"""Standard RQ tools still read every queue and job with priorities and users: each lane is a complete RQ queue.
`rq info` (the rq CLI in the venv) and rq-dashboard (started with --json on 127.0.0.1, read over HTTP)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.error import URLError
from urllib.parse import quote

import pytest

from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.core.conftest import QUEUE, job, lane, wait_until

BIN = Path(sys.executable).parent
USERS = ("ann", "bob")


def _fill(ctx) -> dict[str, dict[str, list[str]]]:
    """For each lane: a finished and a failed job, plus waiting ones; returns lane -> state -> job ids."""
    made: dict[str, dict[str, list[str]]] = {}
    for user in USERS:
        for priority in ("high", "normal", "low"):
            name = lane(ctx, priority=priority).replace(f":{ctx.settings.user}", f":{user}")
            kw = {"priority": priority, "user": user}
            made[name] = {"finished": [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"v": 1}, **kw)],
                          "failed": [ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {}, **kw)]}
    start_worker_pool(ctx, WorkerPlan(burst=True, concurrency=1)).join()
    for name in made:
        user, priority = name.split(":")[2], name.split(":")[1]
        made[name]["queued"] = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"v": i}, priority=priority, user=user)
                                for i in range(2)]
    return made


def test_rq_info_lists_every_lane_with_its_jobs(ctx, redis_url):
    made = _fill(ctx)
    info = subprocess.run([str(BIN / "rq"), "info", "--url", redis_url, "--serializer",
                           "rq.serializers.JSONSerializer", "--only-queues"], capture_output=True, text=True,
                          timeout=30)
    assert info.returncode == 0, info.stderr
    rows = {line.split("|")[0].strip(): line for line in info.stdout.splitlines() if "|" in line}
    for name in made:
        assert name in rows, info.stdout
        assert "2, 0 executing, 1 finished, 1 failed" in rows[name], rows[name]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(redis_url, tmp_path):
    port = _free_port()
    log = open(tmp_path / "rq-dashboard.log", "wb")
    proc = subprocess.Popen([str(BIN / "rq-dashboard"), "--bind", "127.0.0.1", "--port", str(port),
                             "--redis-url", redis_url, "--json"], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={k: v for k, v in os.environ.items()
                                                           if not k.startswith("MEMO_")})
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"rq-dashboard exited: {(tmp_path / 'rq-dashboard.log').read_text()}")
        try:
            urllib.request.urlopen(base + "/0/data/queues.json", timeout=2).read()
        except (URLError, ConnectionError):
            return False
        return True

    try:
        wait_until(answers, 30, interval=0.2, message="rq-dashboard to answer")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_rq_dashboard_reads_every_lane_and_job(ctx, dashboard):
    made = _fill(ctx)
    status, body = _get(dashboard + "/0/data/queues.json")
    queues = {q["name"]: q for q in json.loads(body)["queues"]}
    for name, states in made.items():
        assert queues[name]["count"] == 2
        assert queues[name]["failed_job_registry_count"] == 1 and queues[name]["finished_job_registry_count"] == 1
        for registry, ids in states.items():
            path = f"/0/data/jobs/{quote(name, safe='')}/{registry}/50/asc/1.json"
            status, body = _get(dashboard + path)
            listed = {j["id"] for j in json.loads(body)["jobs"]}
            assert status == 200 and listed == set(ids), (name, registry)
        job_id = states["failed"][0]
        status, body = _get(dashboard + f"/0/data/job/{job_id}.json")
        detail = json.loads(body)
        assert status == 200 and detail["origin"] == name and "PermanentJobError" in detail["exc_info"]
    status, page = _get(dashboard + "/0/view/queues")
    assert status == 200 and "<html" in page.lower()
    status, page = _get(dashboard + f"/0/view/jobs/{quote(next(iter(made)), safe='')}/queued/8/asc/1")
    assert status == 200
