"""The scheduler loop of a worker pool: due retries and delayed jobs back onto their queues, and dead workers'
jobs retried (or failed) within seconds instead of rq's default 4-14 minutes.

rq's RQScheduler forks a process when a worker starts it; here its pieces run in one thread of ours. Per queue,
only the process holding rq's scheduler lock schedules and reaps, so many pools on one Redis never double up.
`tick()` is one pass of the loop, callable directly in tests.
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
from memo_desktop.core.redis_errors import REDIS_FAILURES
from memo_desktop.core.threads import join_thread

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
REAP_SECONDS = 5.0
RELOCK_SECONDS = 10.0
# rq leases a scheduler lock for interval + 60 s: a SIGKILLed pool would keep its queues unscheduled and unreaped
# for a minute. Ticks refresh the lease every second, so a short one is safe and hands the queues over quickly.
LOCK_TTL_SECONDS = 15


class Scheduler:
    def __init__(self, connection: redis.Redis, queue_names: list[str], name: str) -> None:
        self._connection = connection
        self._queues = list(queue_names)
        self._rq = RQScheduler(self._queues, connection=connection, serializer=JSONSerializer, name=name,
                               logging_level=logging.WARNING)
        self._last_reap = 0.0
        self._last_lock = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_lock >= RELOCK_SECONDS or not self._rq.acquired_locks:
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
        due: dict[str, list[str]] = {}
        for name in self._rq.acquired_locks:
            registry = ScheduledJobRegistry(name, connection=self._connection, serializer=JSONSerializer)
            job_ids = registry.get_jobs_to_schedule(current_timestamp())
            if job_ids:
                due[name] = job_ids
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
                    events.publish(self._connection, job.id, name, state_from_rq(job.get_status(refresh=False)),
                                   error="its worker stopped responding (abandoned)")


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
