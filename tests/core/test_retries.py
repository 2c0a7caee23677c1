"""Retries: 3 attempts with exponential backoff (2 s, then 4 s), manual retry of a failed job, attempt counts."""

from __future__ import annotations

from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.states import JobState
from tests.core.conftest import QUEUE, job, lane, read_log, state_of, wait_until


def test_a_failing_job_is_tried_three_times_with_2s_then_4s_between(ctx, start_pool, redis_conn):
    job_id = ctx.jobs.enqueue_function(QUEUE, job("fail"), {"log": "L", "message": "disk on fire"})
    start_pool(ctx, concurrency=2)
    seen = set()

    def failed() -> bool:
        status = ctx.jobs.status(job_id)
        seen.add((status.state.value, status.attempts_made, status.attempts))
        return status.state is JobState.FAILED

    wait_until(failed, 12, interval=0.1, message="three attempts")
    runs = [e.time for e in read_log(redis_conn, "L")]
    assert len(runs) == 3
    first_gap, second_gap = runs[1] - runs[0], runs[2] - runs[1]
    assert 1.5 <= first_gap <= 3.5, f"first backoff {first_gap:.2f} s"
    assert 3.5 <= second_gap <= 6.0, f"second backoff {second_gap:.2f} s"
    status = ctx.jobs.status(job_id)
    assert (status.attempts_made, status.attempts, status.error) == (3, 3, "RuntimeError: disk on fire")
    assert ("scheduled", 1, 3) in seen and ("scheduled", 2, 3) in seen  # waits between attempts are visible
    assert FailedJobRegistry(lane(ctx), connection=redis_conn, serializer=JSONSerializer).get_job_ids() == [job_id]


def test_a_transient_failure_succeeds_on_the_next_attempt(make_context, start_pool, redis_conn):
    ctx = make_context(backoff=0.0)  # retry at once: this test is about counting, not timing
    job_id = ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": "C", "failures": 2})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 10, message="the third attempt")
    status = ctx.jobs.status(job_id)
    assert (status.result, status.attempts_made, status.attempts, status.error) == ("ok", 3, 3, "")
    assert int(redis_conn.get("C")) == 3


def test_retry_runs_a_failed_job_again_with_fresh_attempts(make_context, start_pool, redis_conn):
    ctx = make_context(attempts=1)
    job_id = ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": "C", "failures": 1})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "failed", 5, message="the only attempt to fail")
    assert ctx.jobs.status(job_id).attempts_made == 1
    ctx.jobs.retry(job_id)
    wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 5, message="the retried job")
    status = ctx.jobs.status(job_id)
    assert (status.result, status.attempts_made, status.attempts) == ("ok", 1, 1)
    assert FailedJobRegistry(lane(ctx), connection=redis_conn, serializer=JSONSerializer).count == 0
    ctx.jobs.retry(job_id)  # retrying a job that did not fail does nothing
    assert state_of(ctx.jobs, job_id) == "completed"


def test_retry_all_failed(make_context, start_pool):
    ctx = make_context(attempts=1)
    ids = [ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": f"C{i}", "failures": 1})
           for i in range(3)]
    start_pool(ctx, concurrency=2)
    wait_until(lambda: all(state_of(ctx.jobs, i) == "failed" for i in ids), 5, message="three failures")
    assert ctx.jobs.retry_all_failed(QUEUE) == 3
    wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in ids), 5, message="three successes")
