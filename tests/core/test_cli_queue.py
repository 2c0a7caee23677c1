"""`memo-desktop health` and `job` as a user runs them (subprocesses, real exit codes), and stock rq reading what
the app writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.core.conftest import QUEUE, REPO, job

RQ = str(Path(sys.executable).parent / "rq")


def memo(*args: str, env: dict[str, str] | None = None, data_dir: Path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), *args], cwd=REPO,
                          env=environ, capture_output=True, text=True, timeout=30)


def _run_jobs(ctx) -> tuple[str, str]:
    done = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "hi"})
    failed = ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {})
    start_worker_pool(ctx, WorkerPlan(burst=True, concurrency=1)).join()
    return done, failed


def test_health_with_redis_down_says_disconnected_and_fails(data_dir, tmp_path):
    dead = f"unix://{tmp_path}/nobody-listens.sock"
    for how in ({"env": {"MEMO_REDIS_URL": dead}}, {"args": ("--redis-url", dead)}):
        result = memo(*how.get("args", ()), "health", "--json", env=how.get("env"), data_dir=data_dir)
        assert result.returncode != 0
        data = json.loads(result.stdout)
        assert data["redis"] == "disconnected"
        assert "nobody-listens.sock" in data["error"]
    text = memo("--redis-url", dead, "health", data_dir=data_dir)
    assert text.returncode != 0 and text.stdout.startswith("redis: disconnected - Redis at unix://")
    assert "is not reachable" in text.stdout


def test_health_counts_each_queue(ctx, redis_url, data_dir):
    _run_jobs(ctx)
    ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "waiting"})
    result = memo("--redis-url", redis_url, "health", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["redis"] == "connected"
    assert set(data["queues"]) == {"fileUpload", "fileProcess", "fileDelete"}
    assert data["queues"]["fileProcess"] == {"waiting": 1, "active": 0, "scheduled": 0, "completed": 1,
                                             "failed": 1, "paused": False}
    assert data["queues"]["fileDelete"]["waiting"] == 0


def test_job_status_json_shape(ctx, redis_url, data_dir):
    done, failed = _run_jobs(ctx)
    result = memo("--redis-url", redis_url, "job", done, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("jobId", "state", "progress", "result")} == \
        {"jobId": done, "state": "completed", "progress": 100, "result": {"echo": "hi"}}
    assert (data["queue"], data["attemptsMade"], data["attempts"], data["failedReason"]) == (QUEUE, 1, 3, "")
    assert data["data"] == {"value": "hi"}
    failure = json.loads(memo("--redis-url", redis_url, "job", failed, "--json", data_dir=data_dir).stdout)
    assert (failure["state"], failure["result"], failure["attemptsMade"]) == ("failed", None, 1)
    assert failure["failedReason"] == "PermanentJobError: the input is corrupt; retrying cannot help"
    text = memo("--redis-url", redis_url, "job", failed, data_dir=data_dir).stdout
    assert text.splitlines() == [f"{failed}: failed (0%) on {QUEUE}, attempt 1/3",
                                 "  error: PermanentJobError: the input is corrupt; retrying cannot help"]


def test_unknown_job_is_a_clear_error(redis_url, data_dir):
    result = memo("--redis-url", redis_url, "job", "no-such-job", "--json", data_dir=data_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == ("memo-desktop: error: no job with id 'no-such-job' "
                                     "(it may have been removed by retention)")


def test_job_with_redis_down_is_a_clear_error(data_dir, tmp_path):
    result = memo("--redis-url", f"unix://{tmp_path}/dead.sock", "job", "x", data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr.startswith(f"memo-desktop: error: Redis at unix://{tmp_path}/dead.sock is not reachable")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_stock_rq_reads_the_apps_jobs(ctx, redis_url, redis_conn):
    done, failed = _run_jobs(ctx)
    waiting = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "queued"})
    stock = Job.fetch(done, connection=redis_conn, serializer=JSONSerializer)  # rq's own Job class
    assert stock.get_status() == JobStatus.FINISHED
    assert stock.return_value() == {"echo": "hi"}
    assert stock.func_name == job("echo") and stock.kwargs == {"payload": {"value": "hi"}}
    assert Job.fetch(failed, connection=redis_conn, serializer=JSONSerializer).get_status() == JobStatus.FAILED
    assert Queue(QUEUE, connection=redis_conn, serializer=JSONSerializer).job_ids == [waiting]

    info = subprocess.run([RQ, "info", "--url", redis_url, "--serializer", "rq.serializers.JSONSerializer",
                           "--only-queues"], capture_output=True, text=True, timeout=30)
    assert info.returncode == 0, info.stderr
    line = next(line for line in info.stdout.splitlines() if line.startswith(QUEUE))
    assert line.split("|")[0].strip() == QUEUE and "1, 0 executing, 1 finished, 1 failed" in line
