"""The scheduler loop, one `tick()` at a time: due jobs enqueued, abandoned jobs retried or failed, one owner per queue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.events import EventSubscriber
from memo_desktop.core.jobs.registry import RegisteredJob
from memo_desktop.core.workers.rate_limit import RateLimiter
from memo_desktop.core.workers.scheduler import LOCK_TTL_SECONDS, Scheduler
from memo_desktop.core.workers.thread_worker import ThreadWorker
from tests.core.conftest import QUEUE, job, state_of, wait_until
from tests.core.test_events import Collector


def _abandon(ctx, redis_conn, job_id: str) -> None:
    """Take the job as a worker would, then 'die': its heartbeat entry is left to expire (here: already expired)."""
    ghost = ThreadWorker([QUEUE], connection=redis_conn, context=ctx, limiter=RateLimiter(redis_conn, 0),
                         keep_completed=10, keep_failed=10, name="ghost")
    taken, _ = Queue.dequeue_any([ctx.jobs.queue(QUEUE)], None, connection=redis_conn, job_class=RegisteredJob,
                                 serializer=JSONSerializer)
    assert taken.id == job_id
    ghost.prepare_execution(taken)
    ghost.prepare_job_execution(taken)
    registry = StartedJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer)
    entries = redis_conn.zrange(registry.key, 0, -1)
    assert len(entries) == 1
    redis_conn.zadd(registry.key, {entries[0]: 1}, xx=True)  # heartbeat expired long ago


def test_tick_retries_an_abandoned_job_that_has_attempts_left(make_context, redis_conn):
    ctx = make_context(backoff=0.0)
    job_id = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": 1})
    _abandon(ctx, redis_conn, job_id)
    assert state_of(ctx.jobs, job_id) == "active"
    seen = Collector()
    subscriber = EventSubscriber(redis_conn, seen).start()
    scheduler = Scheduler(redis_conn, [QUEUE], "sched-test")
    try:
        assert subscriber.wait_ready()
        scheduler.tick()
        wait_until(lambda: seen.of(job_id), 2, message="the reaper's event")
    finally:
        scheduler.stop()
        subscriber.stop()
    status = ctx.jobs.status(job_id)
    assert (status.state.value, status.attempts_made) == ("waiting", 1)  # back on the queue; the lost try counts
    assert Queue(QUEUE, connection=redis_conn, serializer=JSONSerializer).job_ids == [job_id]
    assert StartedJobRegistry(QUEUE, connection=redis_conn).count == 0
    assert (seen.of(job_id)[0].state, seen.of(job_id)[0].error) == ("waiting",
                                                                    "its worker stopped responding (abandoned)")


def test_tick_fails_an_abandoned_job_without_attempts_left(make_context, redis_conn):
    ctx = make_context(attempts=1)
    job_id = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": 1})
    _abandon(ctx, redis_conn, job_id)
    scheduler = Scheduler(redis_conn, [QUEUE], "sched-test")
    try:
        scheduler.tick()
    finally:
        scheduler.stop()
    status = ctx.jobs.status(job_id)
    assert status.state.value == "failed"
    assert "AbandonedJobError" in status.error
    assert FailedJobRegistry(QUEUE, connection=redis_conn).get_job_ids() == [job_id]


def test_tick_enqueues_due_jobs_and_leaves_future_ones(ctx, redis_conn):
    queue = ctx.jobs.queue(QUEUE)
    due = queue.enqueue_at(datetime.now(timezone.utc) - timedelta(seconds=1), job("echo"), {"value": "due"})
    later = queue.enqueue_at(datetime.now(timezone.utc) + timedelta(hours=1), job("echo"), {"value": "later"})
    scheduler = Scheduler(redis_conn, [QUEUE], "sched-test")
    try:
        scheduler.tick()
    finally:
        scheduler.stop()
    assert queue.job_ids == [due.id]
    assert ScheduledJobRegistry(QUEUE, connection=redis_conn, serializer=JSONSerializer).get_job_ids() == [later.id]


def test_only_one_scheduler_owns_a_queue_and_its_lease_is_short(redis_conn):
    first = Scheduler(redis_conn, [QUEUE], "sched-one")
    second = Scheduler(redis_conn, [QUEUE], "sched-two")
    lock = RQScheduler.get_locking_key(QUEUE)
    try:
        first.tick()
        second.tick()
        assert redis_conn.get(lock) == b"sched-one"
        assert 0 < redis_conn.ttl(lock) <= LOCK_TTL_SECONDS  # a killed owner hands over within seconds
        first.stop()
        second.tick()
        assert redis_conn.get(lock) == b"sched-two"
    finally:
        first.stop()
        second.stop()
    assert redis_conn.get(lock) is None
