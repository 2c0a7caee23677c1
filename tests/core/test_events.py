"""Job events on Redis pubsub (any subscriber sees each state and progress change) and the monitor's watcher."""

from __future__ import annotations

import queue
import threading

from memo_desktop.core.jobs.events import EventHub, EventSubscriber, JobEvent
from memo_desktop.core.monitor import HealthSnapshot, QueueWatcher
from tests.core.conftest import QUEUE, job, state_of, wait_until


class Collector:
    def __init__(self) -> None:
        self.events: list[JobEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: JobEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, job_id: str) -> list[JobEvent]:
        with self._lock:
            return [e for e in self.events if e.job_id == job_id]


def test_subscriber_sees_waiting_active_progress_completed(ctx, start_pool, redis_conn):
    seen = Collector()
    subscriber = EventSubscriber(redis_conn, seen).start()
    try:
        assert subscriber.wait_ready()
        job_id = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.6, "steps": 3})
        start_pool(ctx, concurrency=1)
        wait_until(lambda: any(e.state == "completed" for e in seen.of(job_id)), 5, message="the completed event")
    finally:
        subscriber.stop()
    events = seen.of(job_id)
    trail = [(e.state, e.progress) for e in events]
    assert trail == [("waiting", 0), ("active", 0), ("active", 33), ("active", 66), ("active", 100),
                     ("completed", 100)]
    assert {e.queue for e in events} == {QUEUE}
    assert all(a.timestamp <= b.timestamp for a, b in zip(events, events[1:]))


def test_failure_events_carry_the_reason(make_context, start_pool, redis_conn):
    ctx = make_context(attempts=2, backoff=0.0)
    seen = Collector()
    subscriber = EventSubscriber(redis_conn, seen).start()
    try:
        assert subscriber.wait_ready()
        job_id = ctx.jobs.enqueue_function(QUEUE, job("fail"), {"message": "no space left"})
        start_pool(ctx, concurrency=1)
        wait_until(lambda: any(e.state == "failed" for e in seen.of(job_id)), 5, message="the failed event")
    finally:
        subscriber.stop()
    states = [e.state for e in seen.of(job_id)]
    assert states == ["waiting", "active", "waiting", "active", "failed"]  # retried at once (no backoff)
    assert seen.of(job_id)[-1].error == "RuntimeError: no space left"


def test_watcher_hands_on_event_batches_and_fresh_counts(ctx, start_pool, redis_conn):
    snapshots: queue.SimpleQueue[HealthSnapshot] = queue.SimpleQueue()
    batches: list[list[JobEvent]] = []
    hub = EventHub(redis_conn).start()
    watcher = QueueWatcher(redis_conn, hub, ctx.queue_names(), snapshots.put, batches.append, poll_interval=0.5)
    watcher.start()
    try:
        assert hub.wait_ready()
        ids = [ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(20)]
        start_pool(ctx, concurrency=2)
        wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in ids), 10, message="20 jobs")

        def all_counted() -> bool:
            latest = None
            while not snapshots.empty():
                latest = snapshots.get()
            return latest is not None and latest.as_dict()["queues"]["fileProcess"]["completed"] == 20

        wait_until(all_counted, 5, message="a snapshot counting 20 completed jobs")
    finally:
        watcher.stop()
        hub.stop()
    events = [e for batch in batches for e in batch]
    assert sum(e.state == "completed" for e in events) == 20
    assert len(batches) < len(events)  # bursts are handed on together, not one call per event
