"""The scheduler loop of a worker pool: due retries and delayed jobs back onto their queues, and dead workers'
jobs retried (or failed) within seconds instead of rq's default 4-14 minutes.

rq's RQScheduler forks a process when a worker starts it; here its pieces run in one thread of ours. Per queue (each
lane of the pool's queues: a new lane is taken on at the next tick), only the process holding rq's scheduler lock
schedules and reaps, so many pools on one Redis never double up. A reaped job that has no attempt left becomes a
dead letter. `tick()` is one pass of the loop, callable directly in tests.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import redis
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.scripts import ACQUIRE_OR_REFRESH_LOCK_SCRIPT
from rq.serializers import JSONSerializer
from rq.utils import current_timestamp

from memo_desktop.core.jobs import events
from memo_desktop.core.jobs.registry import RegisteredJob
from memo_desktop.core.jobs.states import JobState, state_from_rq
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.redis_errors import REDIS_FAILURES
from memo_desktop.core.threads import join_thread
from memo_desktop.core.workers.lane_view import LaneView

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
REAP_SECONDS = 5.0
RELOCK_SECONDS = 10.0
# rq leases a scheduler lock for interval + 60 s: a SIGKILLed pool would keep its queues unscheduled and unreaped
# for a minute. Ticks refresh the lease every second, so a short one is safe and hands the queues over quickly.
LOCK_TTL_SECONDS = 15


ABANDONED = "its worker stopped responding (abandoned)"


class LaneScheduler(RQScheduler):
    """rq's scheduler over queues that grow as lanes appear: one instance (and one connection pool) for the pool's
    life. rq keeps the queues it locks and schedules in `_queue_names`; `follow` is the one place that sets it."""

    def follow(self, queue_names: list[str]) -> None:
        self._queue_names = set(queue_names)
        self._scheduled_job_registries = []  # rq rebuilds them from the locks it holds


class Scheduler:
    def __init__(self, connection: redis.Redis, lanes: LaneView | list[str], name: str, keep_dead: int = 10_000
                 ) -> None:
        self._connection = connection
        self._view = lanes if isinstance(lanes, LaneView) else LaneView(connection, lanes)
        self._keep_dead = keep_dead
        self._queues: list[str] = []
        self._rq = LaneScheduler([], connection=connection, serializer=JSONSerializer, name=name,
                                 logging_level=logging.WARNING)
        self._last_reap = 0.0
        self._last_lock = 0.0

    def _follow_lanes(self) -> bool:
        """Take on the lanes that appeared since the last tick; True when the set changed."""
        lanes = sorted(self._view.all_lanes())
        if lanes == self._queues:
            return False
        self._queues = lanes
        self._rq.follow(lanes)
        return True

    def tick(self) -> None:
        now = time.monotonic()
        if self._follow_lanes() or now - self._last_lock >= RELOCK_SECONDS or not self._rq.acquired_locks:
            if set(self._rq.acquired_locks) != set(self._queues):
                self._rq.acquire_locks()
            self._last_lock = now
        if not self._rq.acquired_locks:
            return
        self._rq.heartbeat()
        self._shorten_lock_leases()
        self._enqueue_due_jobs()
        if now - self._last_reap >= REAP_SECONDS:
            self._reap_abandoned_jobs()
            self._last_reap = now

    def stop(self) -> None:
        try:
            self._rq.release_locks()
            self._rq.register_death()
        except REDIS_FAILURES as exc:
            log.warning("scheduler: could not release its locks (%s); they expire by themselves", exc)

    def _shorten_lock_leases(self) -> None:
        with self._connection.pipeline() as pipe:
            for name in self._rq.acquired_locks:  # refreshed only while still ours (rq's own lock script)
                pipe.eval(ACQUIRE_OR_REFRESH_LOCK_SCRIPT, 1, RQScheduler.get_locking_key(name), self._rq.name,
                          LOCK_TTL_SECONDS)
            pipe.execute()

    def _enqueue_due_jobs(self) -> None:
        names = sorted(self._rq.acquired_locks)
        with self._connection.pipeline(transaction=False) as pipe:  # one round trip however many lanes
            for name in names:
                pipe.zrangebyscore(ScheduledJobRegistry(name, connection=self._connection).key, 0,
                                   current_timestamp(), start=0, num=1000)
            found = pipe.execute()
        due = {name: [raw.decode() for raw in ids] for name, ids in zip(names, found) if ids}
        if not due:
            return
        self._rq.enqueue_scheduled_jobs()
        for name, job_ids in due.items():
            for job_id in job_ids:
                events.publish(self._connection, job_id, name, JobState.WAITING)

    def _reap_abandoned_jobs(self) -> None:
        """A job whose heartbeat stopped (its worker was killed) is retried if attempts remain, else failed."""
        for name in self._rq.acquired_locks:
            registry = StartedJobRegistry(name, connection=self._connection, serializer=JSONSerializer,
                                          job_class=RegisteredJob)
            expired = registry.get_expired_job_ids()
            if not expired:
                continue
            log.warning("scheduler: %d abandoned job(s) on %s: %s", len(expired), name, ", ".join(expired))
            registry.cleanup()
            for job in RegisteredJob.fetch_many(expired, connection=self._connection, serializer=JSONSerializer):
                if job is not None:
                    state = state_from_rq(job.get_status(refresh=False))
                    if state is JobState.FAILED:  # no attempt left: kept in the dead-letter queue
                        dead_letters.report_dropped(
                            dead_letters.record(self._connection, dead_letters.of_job(job, ABANDONED),
                                                self._keep_dead), self._keep_dead)
                    events.publish(self._connection, job.id, name, state, error=ABANDONED)


class SchedulerThread:
    """Runs `Scheduler.tick()` every second until stopped; survives Redis outages."""

    def __init__(self, scheduler: Scheduler, on_tick: Callable[[], None] | None = None,
                 name: str = "rq-scheduler") -> None:
        self.scheduler = scheduler
        self._on_tick = on_tick
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        self._stop.set()
        return join_thread(self._thread, timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scheduler.tick()
            except REDIS_FAILURES as exc:  # the runtime's supervisor reports the outage; ticks resume after it
                log.debug("scheduler: Redis unreachable (%s)", exc)
            if self._on_tick is not None:
                self._on_tick()
            self._stop.wait(TICK_SECONDS)
        self.scheduler.stop()
