"""Count-based retention: only the newest N completed and M failed jobs of a queue are kept; older ones are gone."""

from __future__ import annotations

import pytest
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.errors import JobNotFound
from memo_desktop.core.monitor import read_health
from memo_desktop.core.queueing.retention import apply_retention
from tests.core.conftest import QUEUE, job, state_of, wait_until


def _gone(redis_conn, job_id: str) -> bool:
    return not redis_conn.exists(f"rq:job:{job_id}") and not redis_conn.exists(f"rq:results:{job_id}")


def test_only_the_newest_completed_and_failed_jobs_are_kept(make_context, start_pool, redis_conn):
    ctx = make_context(keep_completed=5, keep_failed=3, attempts=1)
    done = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(12)]
    failed = [ctx.jobs.enqueue_function(QUEUE, job("fail"), {}) for _ in range(7)]
    start_pool(ctx, concurrency=1)  # one worker: jobs end in enqueue order, so "newest" is known

    def settled() -> bool:
        counts = read_health(redis_conn, [QUEUE], with_workers=False).queues[QUEUE]
        return (counts.waiting, counts.active, counts.completed, counts.failed) == (0, 0, 5, 3)

    wait_until(settled, 10, message="all jobs to run and retention to trim")
    finished = FinishedJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer)
    failed_registry = FailedJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer)
    assert sorted(finished.get_job_ids()) == sorted(done[-5:])
    assert sorted(failed_registry.get_job_ids()) == sorted(failed[-3:])
    for job_id in done[:-5] + failed[:-3]:
        assert _gone(redis_conn, job_id), job_id
        with pytest.raises(JobNotFound, match="removed by retention"):
            ctx.jobs.status(job_id)
    assert [state_of(ctx.jobs, i) for i in done[-5:]] == ["completed"] * 5
    assert [state_of(ctx.jobs, i) for i in failed[-3:]] == ["failed"] * 3


def test_ties_within_one_second_keep_the_jobs_that_ended_last(ctx, start_pool, redis_conn):
    """rq scores these registries in whole seconds: jobs ending in the same second must still be trimmed in order."""
    ids = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(30)]
    start_pool(ctx, concurrency=1)
    wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in ids), 10, message="30 fast jobs")
    apply_retention(redis_conn, QUEUE, keep_completed=4, keep_failed=1)
    assert sorted(FinishedJobRegistry(QUEUE, connection=redis_conn).get_job_ids()) == sorted(ids[-4:])
    assert all(_gone(redis_conn, i) for i in ids[:-4])


def test_workers_trimming_at_the_same_time_do_not_trip_over_each_other(make_context, start_pool, redis_conn):
    """Five workers trim one registry after every job; a job another worker removed a moment ago is no error."""
    ctx = make_context(keep_completed=40, keep_failed=2)
    for i in range(300):
        ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i})
    pool = start_pool(ctx, concurrency=5)
    names = [w.name for w in pool.workers]

    def settled() -> bool:
        counts = read_health(redis_conn, [QUEUE], with_workers=False).queues[QUEUE]
        return (counts.waiting, counts.active, counts.completed) == (0, 0, 40)

    wait_until(settled, 20, message="300 jobs and retention")
    assert [(w.name, w.alive) for w in pool.workers] == [(name, True) for name in names], "a worker died"
    assert len(redis_conn.keys("rq:job:*")) == 40
