"""An rq worker that runs safely in a non-main thread of a GUI or service process.

What the stock SimpleWorker does that a thread must not (see FIELD-NOTES, "RQ"):
- installs SIGINT/SIGTERM handlers (only the main thread may)            -> not installed
- times jobs out with SIGALRM                                             -> TimerDeathPenalty
- blocks ~400 s in BLMOVE without looking at its stop flag                -> 1 s dequeue polls
- turns the pubsub `shutdown` command into SIGINT for the whole process    -> stops this worker only
- lets a long job's registry entry expire only after timeout + 60 s       -> heartbeats every few seconds while
                                                                             busy, so a dead worker's job is
                                                                             picked up within a minute
It also adds what the origin design has and rq lacks: a Redis-wide rate limit, paused queues, count-based
retention, job events and an attempt counter; and it skips remaining attempts for permanent errors.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import redis
from rq.command import parse_payload
from rq.exceptions import DequeueTimeout
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker, WorkerStatus

from memo_desktop.core.errors import PermanentJobError
from memo_desktop.core.jobs import events
from memo_desktop.core.jobs.client import PAUSED_QUEUES_KEY, last_line
from memo_desktop.core.jobs.registry import RegisteredJob
from memo_desktop.core.jobs.states import JobState, state_from_rq
from memo_desktop.core.workers.rate_limit import RateLimiter
from memo_desktop.core.workers.retention import apply_retention

log = logging.getLogger(__name__)

POLL_SECONDS = 1          # longest a dequeue blocks before the stop flag is looked at again
HEARTBEAT_SECONDS = 5     # how often a busy worker proves its job is alive
HEARTBEAT_TTL = 20        # a job not heartbeated for this long is abandoned (its worker died)


class ThreadWorker(SimpleWorker):
    death_penalty_class = TimerDeathPenalty
    job_class = RegisteredJob

    def __init__(self, queues: list[str], *, connection: redis.Redis, limiter: RateLimiter,
                 keep_completed: int, keep_failed: int, name: str) -> None:
        super().__init__(queues, name=name, connection=connection, serializer=JSONSerializer,
                         job_class=RegisteredJob, worker_ttl=60)
        self._limiter = limiter
        self._keep = (keep_completed, keep_failed)
        self._stop_event = threading.Event()
        self.current_job_id: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------------------
    def request_thread_stop(self) -> None:
        """Finish the current job (if any), then leave `work()`. Safe from any thread."""
        self._stop_requested = True
        self._stop_event.set()
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()  # ends within one poll, while the dequeue poll ends too

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    def _install_signal_handlers(self) -> None:
        """Signals belong to the process's main thread; its owner stops the pool."""

    def procline(self, message: str) -> None:
        """The process title belongs to the process, not to one of its worker threads."""

    def subscribe(self) -> None:
        """rq's pubsub thread, polling every second (rq: 60 s) so that it can stop by itself (see `unsubscribe`)."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=POLL_SECONDS, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self) -> None:
        """rq closes the pubsub connection from this thread while its pubsub thread may still be reading it (EBADF
        in that thread); here the pubsub thread is told to stop and closes its own connection within one poll."""
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()
            self.pubsub_thread.join(timeout=POLL_SECONDS + 1)

    def handle_payload(self, message: Any) -> None:
        """rq's pubsub commands, made thread-safe: `shutdown` stops this worker (rq would SIGINT the process)."""
        payload = parse_payload(message)
        command = payload.get("command")
        if command == "shutdown":
            log.info("worker %s: shutdown requested through pubsub", self.name)
            self.request_thread_stop()
        else:
            log.warning("worker %s: ignoring pubsub command %r (not supported by thread workers)", self.name, command)

    # -- dequeue: rate limit, pause, stop flag ----------------------------------------------------------------------
    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None
                                     ) -> tuple[Job, Queue] | None:
        burst = timeout is None
        self.set_state(WorkerStatus.IDLE)
        backoff = 0.5
        while not self._stop_requested:
            token = None
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                queues = self._unpaused_queues()
                if not queues:
                    if burst:
                        return None
                    self._stop_event.wait(POLL_SECONDS)
                    continue
                token = self._limiter.acquire(self._stop_event, hold=0 if burst else POLL_SECONDS)
                if token is None:
                    return None
                result = self.queue_class.dequeue_any(
                    queues, None if burst else POLL_SECONDS, connection=self.connection, job_class=self.job_class,
                    serializer=self.serializer, death_penalty_class=self.death_penalty_class)
                backoff = 0.5
                if result is not None:
                    self._limiter.started(token)
                    return result
                self._limiter.release(token)
                if burst:
                    return None
            except DequeueTimeout:
                self._limiter.release(token)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("worker %s: Redis unreachable (%s); retrying in %.1f s", self.name, exc, backoff)
                self._stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        return None

    def _unpaused_queues(self) -> list[Queue]:
        paused = {name.decode() for name in self.connection.smembers(PAUSED_QUEUES_KEY)}
        return [q for q in self._ordered_queues if q.name not in paused]

    # -- execution: heartbeats, events, attempts, retention -----------------------------------------------------
    @property
    def dequeue_timeout(self) -> int:
        return POLL_SECONDS

    @property
    def connection_timeout(self) -> int:
        """Socket timeout rq would impose on the shared connection pool: short, since dequeues poll for 1 s."""
        return POLL_SECONDS + 5

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.current_job_id = job.id
        execution = self.prepare_execution(job)
        try:
            with self._heartbeats(job, execution):
                self.perform_job(job, queue, execution)
        finally:
            self.current_job_id = None
        self.set_state(WorkerStatus.IDLE)
        self._publish_outcome(job, queue)
        apply_retention(self.connection, queue.name, *self._keep)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        job.meta["attempts"] = int(job.meta.get("attempts", 0)) + 1
        job.meta["progress"] = 0
        job.save_meta()
        events.publish(self.connection, job.id, job.origin, JobState.ACTIVE)

    def _finalize_failure(self, job: Job, queue: Queue, execution: Execution, exc_info: Any) -> None:
        if isinstance(exc_info[1], PermanentJobError):
            job.retries_left = 0  # another attempt cannot fix it: fail now, with the reason
        super()._finalize_failure(job, queue, execution, exc_info)

    def _publish_outcome(self, job: Job, queue: Queue) -> None:
        status = job.get_status(refresh=True)
        state = state_from_rq(status)
        error = ""
        if status == JobStatus.FAILED or status == JobStatus.SCHEDULED:
            latest = job.latest_result()
            error = last_line(latest.exc_string) if latest is not None and latest.exc_string else ""
        progress = 100 if state is JobState.COMPLETED else int(job.meta.get("progress", 0))
        events.publish(self.connection, job.id, queue.name, state, progress, error)

    @contextmanager
    def _heartbeats(self, job: Job, execution: Execution) -> Iterator[None]:
        """Keep the job's registry entry and the worker alive while the job runs on this thread."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT_SECONDS):
                try:
                    self.maintain_heartbeats(job, execution)
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("worker %s: heartbeat for job %s failed: %s", self.name, job.id, exc)

        beater = threading.Thread(target=beat, name=f"{self.name}-heartbeat", daemon=True)
        beater.start()
        try:
            yield
        finally:
            done.set()
            beater.join(timeout=HEARTBEAT_SECONDS)
