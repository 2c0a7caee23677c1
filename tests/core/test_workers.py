"""The in-process worker pool: concurrency, graceful stop, pause/resume, rq's pubsub shutdown, registered-only jobs."""

from __future__ import annotations

import os
import signal
import threading
import time

from rq import Queue, Retry, Worker
from rq.command import send_shutdown_command
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.monitor import read_health
from memo_desktop.core.workers import thread_worker
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.core.conftest import QUEUE, job, read_log, state_of, wait_until


def test_five_jobs_run_at_once_and_a_sixth_waits(ctx, start_pool, redis_conn):
    ids = [ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 1.5, "steps": 3, "log": "L", "tag": str(i)})
           for i in range(6)]
    start_pool(ctx, concurrency=5)
    wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in ids), 15, message="all six jobs")
    log = read_log(redis_conn, "L")
    starts = sorted(e.time for e in log if e.event == "start")
    ends = sorted(e.time for e in log if e.event == "end")
    assert len(starts) == len(ends) == 6
    assert starts[4] < ends[0], "the first five jobs did not all start before one ended"
    assert starts[5] >= ends[0] - 0.05, "a sixth job ran while five were running"
    assert len({e.pid for e in log}) == 1


def test_stop_lets_busy_workers_finish_their_jobs(ctx, start_pool):
    ids = [ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 1.0, "steps": 2}) for _ in range(3)]
    pool = start_pool(ctx, concurrency=3)
    wait_until(lambda: all(state_of(ctx.jobs, i) == "active" for i in ids), 5, message="three active jobs")
    began = time.monotonic()
    assert pool.stop(timeout=10) is True
    assert time.monotonic() - began < 5
    assert [state_of(ctx.jobs, i) for i in ids] == ["completed"] * 3
    assert not pool.alive


def test_stop_hands_back_a_job_that_outlives_the_timeout(ctx, start_pool, redis_conn):
    job_id = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 1.5, "steps": 3, "log": "L"})
    pool = start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "active", 5, message="the job to start")
    assert pool.stop(timeout=0.2) is False
    status = ctx.jobs.status(job_id)
    assert (status.state.value, status.attempts_made) == ("waiting", 0)  # the interrupted attempt is not counted
    assert Queue(QUEUE, connection=redis_conn, serializer=JSONSerializer).job_ids == [job_id]
    # the abandoned thread cannot be killed; let it end before the next test empties Redis
    wait_until(lambda: any(e.event == "end" for e in read_log(redis_conn, "L")), 5, message="the thread to end")
    wait_until(lambda: not pool.alive, 5, message="the thread to exit")


def test_paused_queue_is_not_taken_until_resumed(ctx, start_pool):
    ctx.jobs.pause(QUEUE)
    job_id = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": 1})
    start_pool(ctx, concurrency=2)
    health = read_health(ctx.redis, ctx.queue_names())
    assert health.queues[QUEUE].paused and health.queues[QUEUE].waiting == 1
    time.sleep(1.5)  # longer than one dequeue poll: a worker would have taken it by now
    assert state_of(ctx.jobs, job_id) == "waiting"
    other = ctx.jobs.enqueue_function("file-delete", job("echo"), {"value": 2})  # other queues keep flowing
    wait_until(lambda: state_of(ctx.jobs, other) == "completed", 5, message="the unpaused queue's job")
    ctx.jobs.resume(QUEUE)
    assert ctx.jobs.paused_queues() == set()
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 5, message="the job after resume")
    assert ctx.jobs.status(job_id).result == {"echo": 1}


def test_rq_shutdown_command_stops_one_thread_worker_not_the_process(ctx, start_pool, redis_conn):
    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda *a: interrupted.append(a))  # stock rq would SIGINT us
    try:
        pool = start_pool(ctx, concurrency=2)
        first, second = pool.workers
        wait_until(lambda: len(Worker.all(connection=redis_conn, serializer=JSONSerializer)) == 2, 5,
                   message="both workers registered")
        time.sleep(0.3)  # the pubsub thread subscribes right after registration
        send_shutdown_command(redis_conn, first.name)
        wait_until(lambda: not pool.workers[0].alive, 5, message="the first worker to stop")
        time.sleep(1.5)  # a scheduler tick: the pool must not revive a worker stopped on request
        assert [(w.name, w.alive) for w in pool.workers] == [(first.name, False), (second.name, True)]
        assert [w.name for w in Worker.all(connection=redis_conn, serializer=JSONSerializer)] == [second.name]
        job_id = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "still working"})
        wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 5, message="the remaining worker")
        assert ctx.jobs.status(job_id).worker == second.name
        assert interrupted == [] and threading.main_thread().is_alive()
    finally:
        signal.signal(signal.SIGINT, previous)


def _forge(redis_conn, func: str, *args) -> str:
    """What an attacker with access to the Redis could write: a job naming any importable function."""
    queue = Queue(QUEUE, connection=redis_conn, serializer=JSONSerializer)
    return queue.enqueue(func, *args, retry=Retry(max=3, interval=[1, 1, 1])).id


def test_forged_jobs_naming_arbitrary_functions_are_refused(ctx, start_pool, redis_conn, tmp_path):
    marker_a, marker_b = tmp_path / "pwned-by-os-system", tmp_path / "pwned-by-subprocess"
    forged = [_forge(redis_conn, "os.system", f"touch {marker_a}"),
              _forge(redis_conn, "subprocess.call", ["touch", str(marker_b)])]
    start_pool(ctx, concurrency=2)
    wait_until(lambda: all(state_of(ctx.jobs, i) == "failed" for i in forged), 5, message="forged jobs failing")
    failed = FailedJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer)
    assert sorted(failed.get_job_ids()) == sorted(forged)
    assert ScheduledJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer).get_job_ids() == []
    for job_id, func in zip(forged, ("os.system", "subprocess.call")):
        status = ctx.jobs.status(job_id)
        assert status.error == (f"UnregisteredJobError: refused to run job function '{func}': "
                                f"it is not a registered memo-desktop job function")
        assert status.attempts_made == 1
        rq_job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
        assert len(rq_job.results()) == 1  # one attempt, though the forger asked for 3 retries
    assert not marker_a.exists() and not marker_b.exists()


def test_a_pickled_job_is_never_unpickled(ctx, start_pool, redis_conn, tmp_path):
    """A job written with rq's default (pickle) serializer must not run code when a worker reads it."""
    marker = tmp_path / "pwned-by-pickle"
    pickled = Queue(QUEUE, connection=redis_conn).enqueue("os.system", f"touch {marker}")  # stock rq: pickle
    start_pool(ctx, concurrency=1)
    good = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "after"})
    wait_until(lambda: state_of(ctx.jobs, good) == "completed", 5, message="the next job (the worker survived)")
    assert not marker.exists()
    assert Job.fetch(pickled.id, connection=redis_conn).get_status() != JobStatus.FINISHED


def test_permanent_error_fails_after_one_attempt(ctx, start_pool, redis_conn):
    job_id = ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {"log": "L"})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "failed", 5, message="the job to fail")
    status = ctx.jobs.status(job_id)
    assert (status.attempts_made, status.attempts) == (1, 3)
    assert status.error == "PermanentJobError: the input is corrupt; retrying cannot help"
    time.sleep(2.5)  # longer than the first backoff: no retry may follow
    assert [e.event for e in read_log(redis_conn, "L")] == ["run"]
    assert ScheduledJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer).count == 0


def test_job_functions_run_in_the_pool_process_with_its_context(ctx, start_pool, redis_conn):
    job_id = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": [1, "two"], "log": "L"})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 5)
    assert ctx.jobs.status(job_id).result == {"echo": [1, "two"]}
    assert read_log(redis_conn, "L")[0].pid == os.getpid()


def test_a_running_job_is_heartbeated_so_it_is_not_taken_for_abandoned(ctx, start_pool, redis_conn, monkeypatch):
    monkeypatch.setattr(thread_worker, "HEARTBEAT_SECONDS", 0.3)
    job_id = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 2.5, "steps": 5})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "active", 5, message="the job to start")
    registry = StartedJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer)

    def expiry() -> float:
        entries = redis_conn.zrange(registry.key, 0, -1, withscores=True)
        return entries[0][1] if entries else 0.0

    first = expiry()
    assert first >= time.time() + thread_worker.HEARTBEAT_TTL - 2
    wait_until(lambda: expiry() > first, 3, message="a heartbeat to push the expiry on")
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 5, message="the job to end")
    assert registry.get_job_ids(cleanup=False) == []


def test_a_job_still_running_at_shutdown_is_handed_back_and_runs_again(ctx, start_pool, redis_conn):
    job_id = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 1.5, "log": "runs", "tag": "slow"})
    pool = start_worker_pool(ctx, WorkerPlan(concurrency=1))
    wait_until(lambda: state_of(ctx.jobs, job_id) == "active", 5, message="the job to start")

    assert pool.stop(timeout=0.2) is False  # it could not wait for the job

    status = ctx.jobs.status(job_id)
    assert status.state.value == "waiting" and status.attempts_made == 0  # back at the front, attempt not counted
    time.sleep(1.8)  # the abandoned thread finishes its sleep meanwhile...
    assert state_of(ctx.jobs, job_id) == "waiting"  # ...and its outcome is discarded

    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 10, message="the job to run again")
    assert ctx.jobs.status(job_id).attempts_made == 1
    assert [e.event for e in read_log(redis_conn, "runs")].count("start") == 2
