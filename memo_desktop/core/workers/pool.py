"""N thread workers plus one scheduler thread, in the GUI process or a headless `memo-desktop worker`.

Every job the pool runs receives the pool's own context (`context`, an AppContext): two pools in one process never
share one. Stopping is graceful and bounded: workers finish their current job; a job still running when the timeout
ends is handed back to its queue (it runs again elsewhere or at next start; the attempt is not counted twice).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs import events
from memo_desktop.core.jobs.registry import RegisteredJob
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.redis_errors import REDIS_FAILURES, translate
from memo_desktop.core.threads import join_threads
from memo_desktop.core.workers.gate import DependencyGate
from memo_desktop.core.workers.lane_view import LaneView
from memo_desktop.core.workers.rate_limit import RateLimiter, UserRateLimits
from memo_desktop.core.workers.scheduler import Scheduler, SchedulerThread
from memo_desktop.core.workers.thread_worker import ThreadWorker

if TYPE_CHECKING:
    from memo_desktop.core.context import AppContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    alive: bool
    current_job_id: str | None


class WorkerPool:
    def __init__(self, context: AppContext, queue_names: list[str], *, concurrency: int | None = None,
                 name: str | None = None, burst: bool = False, gate: DependencyGate | None = None,
                 rate_limit: float | None = None) -> None:
        """`rate_limit`: jobs/s for this pool when not the settings' shared one (0: none; webhook deliveries must
        not spend the tokens of uploads)."""
        settings = context.settings
        self.context = context
        self.connection = connection = context.redis
        self.settings = settings
        self.queue_names = list(queue_names)
        self.concurrency = concurrency or settings.concurrency
        self.name = name or f"memo-{settings.device}-{uuid.uuid4().hex[:6]}"
        self.burst = burst
        self.gate = gate or DependencyGate()
        self._limiter = RateLimiter(connection, settings.rate_limit if rate_limit is None else rate_limit)
        # a pool with a rate limit of its own (operations: webhook deliveries) spends no user's share either
        self._user_limits = UserRateLimits(connection, settings.rate_limit_per_user if rate_limit is None else 0)
        self.lanes = LaneView(connection, self.queue_names)  # shared by the pool's workers and its scheduler
        self._workers: list[ThreadWorker] = []
        self._threads: list[threading.Thread] = []
        self._scheduler = SchedulerThread(Scheduler(connection, self.lanes, f"{self.name}.scheduler",
                                                    keep_dead=settings.keep_dead),
                                          on_tick=self._revive_dead_workers, name=f"{self.name}.scheduler")
        self._stopping = False
        self._lock = threading.Lock()
        self._serial = 0

    # -- lifecycle ----------------------------------------------------------------------------------------------------
    def start(self) -> WorkerPool:
        if self.burst:
            self._scheduler.scheduler.tick()  # bring due retries onto the queues before draining them
        for slot in range(self.concurrency):
            self._start_worker(slot)
        if not self.burst:
            self._scheduler.start()  # after the workers: its ticks replace dead ones
        return self

    def _start_worker(self, slot: int) -> None:
        with self._lock:
            self._serial += 1
            worker = ThreadWorker(self.queue_names, connection=self.connection, context=self.context,
                                  limiter=self._limiter, keep_completed=self.settings.keep_completed,
                                  keep_failed=self.settings.keep_failed, name=f"{self.name}.{slot}.{self._serial}",
                                  gate=self.gate, lanes=self.lanes, user_limits=self._user_limits,
                                  keep_dead=self.settings.keep_dead)
            thread = threading.Thread(target=self._run_worker, args=(worker,), name=worker.name, daemon=True)
            if slot < len(self._workers):
                self._workers[slot], self._threads[slot] = worker, thread
            else:
                self._workers.append(worker)
                self._threads.append(thread)
        thread.start()

    def _run_worker(self, worker: ThreadWorker) -> None:
        try:
            worker.work(burst=self.burst, logging_level="WARNING")
        except REDIS_FAILURES as exc:
            if not worker.abandoned:
                log.info("worker %s stopped: %s; the pool restarts it", worker.name, translate(exc))

    def _revive_dead_workers(self) -> None:
        """A worker whose loop ended on an error (Redis went away at a bad moment) is replaced; one stopped on
        request (rq's pubsub `shutdown` command) stays stopped."""
        if self._stopping or self.burst:
            return
        for slot, (worker, thread) in enumerate(list(zip(self._workers, self._threads))):
            # a thread not started yet (ident None) is not dead: `start()` may still be bringing it up
            if thread.ident is not None and not thread.is_alive() and not worker.stopping:
                log.warning("worker %s stopped unexpectedly; starting a replacement", thread.name)
                try:
                    self._start_worker(slot)
                except REDIS_FAILURES:
                    return  # Redis still down: try again next tick

    def stop(self, timeout: float = 30.0) -> bool:
        """Let workers finish their jobs for up to `timeout` s, then hand unfinished jobs back. True if all ended."""
        self._stopping = True
        for worker in self._workers:
            worker.request_thread_stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._scheduler.stop()
        still_busy = [w for w, t in zip(self._workers, self._threads) if t.is_alive()]
        for worker in still_busy:
            try:
                self._hand_back(worker)
            except REDIS_FAILURES as exc:  # the job is then retried when its heartbeat expires
                log.warning("could not hand job %s back: %s", worker.current_job_id, translate(exc))
        # a handed-back job's thread may still be in its job: it ends when the job does (nothing it does is
        # recorded); wait a little so a short job's thread is gone too, and say which ones are not
        join_threads([t for w, t in zip(self._workers, self._threads) if w in still_busy], 1.0)
        return not still_busy

    def join(self) -> None:
        """Wait until every worker has ended (burst mode: the queues are drained)."""
        for thread in self._threads:
            thread.join()
        if not self.burst:
            self._scheduler.stop()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for every worker to end; True if they have (burst mode: drained)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self.alive

    # -- state ----------------------------------------------------------------------------------------------------------
    @property
    def workers(self) -> list[WorkerInfo]:
        return [WorkerInfo(w.name, t.is_alive(), w.current_job_id) for w, t in zip(self._workers, self._threads)]

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _hand_back(self, worker: ThreadWorker) -> None:
        """Put a still-running job back at the front of its queue, so a shutdown never loses it."""
        job_id = worker.current_job_id
        if job_id is None:
            return
        worker.abandon_current_job()
        job = self.context.jobs._fetch(job_id)
        if job is None or job.get_status(refresh=True) != JobStatus.STARTED:
            return
        log.warning("job %s did not finish before shutdown; handing it back to %s", job_id, job.origin)
        registry = StartedJobRegistry(job.origin, connection=self.connection, serializer=JSONSerializer,
                                      job_class=RegisteredJob)
        with self.connection.pipeline() as pipe:
            for entry in self.connection.zrange(registry.key, 0, -1):
                if registry.parse_job_id(entry) == job_id:
                    pipe.zrem(registry.key, entry)
            job.meta["attempts"] = max(0, int(job.meta.get("attempts", 1)) - 1)
            job.save_meta()
            self.context.jobs.queue(job.origin)._enqueue_job(job, pipeline=pipe, at_front=True)
            pipe.execute()
        events.publish(self.connection, job_id, job.origin, JobState.WAITING)
