"""Headless `memo-desktop worker` processes: a rate limit shared across processes, a worker killed mid-job,
graceful SIGTERM, burst mode."""

from __future__ import annotations

import signal
import time

from tests.core.conftest import QUEUE, job, read_log, state_of, wait_until


def _max_in_window(times: list[float], window: float) -> int:
    """The most events inside any half-open interval [t, t + window)."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def test_rate_limit_holds_across_two_worker_processes(ctx, worker_process, redis_conn):
    limit, total = 5, 30
    env = {"MEMO_RATE_LIMIT": str(limit)}
    workers = [worker_process(name, "--concurrency", "3", env=env) for name in ("rate-a", "rate-b")]
    for w in workers:
        w.wait_started()
    ids = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i, "log": "L"}) for i in range(total)]
    wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in ids), 20, interval=0.2,
               message=f"{total} jobs at {limit}/s")
    log = read_log(redis_conn, "L")
    starts = sorted(e.time for e in log)
    assert len(starts) == total
    assert {e.pid for e in log} == {w.pid for w in workers}, "both processes should have taken jobs"
    # The limiter grants slots on the Redis clock, to the millisecond, a few ms before each job starts; job start
    # times carry that scheduling jitter, so the window is 50 ms shorter than the limiter's second.
    assert _max_in_window(starts, 0.95) <= limit
    assert _max_in_window(starts, 2.0 - 0.05) <= 2 * limit
    # After the first `limit` jobs (allowed at once) the rest come at the limit's pace.
    rate = (total - limit) / (starts[-1] - starts[0])
    assert 0.8 * limit <= rate <= 1.05 * limit, f"overall rate {rate:.2f}/s"


def test_job_of_a_killed_worker_process_completes_on_another(make_context, worker_process, redis_conn):
    ctx = make_context(backoff=0.0)  # the retry follows the reaping at once: the wait is the heartbeat expiry
    first = worker_process("doomed", "--concurrency", "1")
    first.wait_started()
    job_id = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 1.5, "steps": 3, "log": "L"})
    wait_until(lambda: state_of(ctx.jobs, job_id) == "active", 10, message="the job to start on the first worker")
    assert ctx.jobs.status(job_id).worker.startswith("doomed.")
    first.kill(signal.SIGKILL)
    assert first.wait(5) == -signal.SIGKILL
    killed_at = time.monotonic()
    second = worker_process("rescuer", "--concurrency", "1")
    second.wait_started()
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 60, interval=0.25,
               message="the abandoned job to complete on the second worker")
    elapsed = time.monotonic() - killed_at
    status = ctx.jobs.status(job_id)
    assert status.worker.startswith("rescuer.")
    assert (status.attempts_made, status.attempts) == (2, 3)  # the killed attempt counts
    log = read_log(redis_conn, "L")
    assert [(e.event, e.pid) for e in log] == [("start", first.pid), ("start", second.pid), ("end", second.pid)]
    assert elapsed < 60, f"took {elapsed:.0f} s"


def test_sigterm_finishes_the_running_jobs_then_exits_0(ctx, worker_process, redis_conn):
    worker = worker_process("graceful", "--concurrency", "2")
    worker.wait_started()
    busy = [ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 1.5, "steps": 3, "log": "L"})
            for _ in range(2)]
    wait_until(lambda: all(state_of(ctx.jobs, i) == "active" for i in busy), 10, message="two active jobs")
    queued = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "later"})
    worker.kill(signal.SIGTERM)
    assert worker.wait(15) == 0, worker.output()
    assert [state_of(ctx.jobs, i) for i in busy] == ["completed", "completed"]
    assert state_of(ctx.jobs, queued) == "waiting"  # nothing new is taken once asked to stop
    assert "SIGTERM: finishing current jobs" in worker.output()


def test_burst_worker_drains_the_queues_and_exits(ctx, worker_process):
    ids = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(10)]
    worker = worker_process("burst", "--burst", "--concurrency", "2")
    assert worker.wait(20) == 0, worker.output()
    assert all(state_of(ctx.jobs, i) == "completed" for i in ids)
