"""An rq worker that runs safely in a non-main thread of a GUI or service process.

What the stock SimpleWorker does that a thread must not (each measured on rq 3.0):
- installs SIGINT/SIGTERM handlers (only the main thread may)            -> not installed
- times jobs out with SIGALRM                                             -> TimerDeathPenalty
- blocks ~400 s in BLMOVE without looking at its stop flag                -> 1 s dequeue polls
- turns the pubsub `shutdown` command into SIGINT for the whole process    -> stops this worker only
- lets a long job's registry entry expire only after timeout + 60 s       -> heartbeats every few seconds while
                                                                             busy, so a dead worker's job is
                                                                             picked up within a minute
It also adds what the origin design has and rq lacks: priorities and fair turns between users (one BLPOP over the
lanes of its queues, in serving order: see `core.queueing.lanes`), a Redis-wide rate limit and one per user, paused
queues, count-based retention over a queue's lanes, the dead-letter queue, job events and an attempt counter; and it
skips remaining attempts for permanent errors. Each job gets the context of the pool running it
(`RegisteredJob.context`), and no job is taken while the pool's dependency gate is closed (the object store is
down: waiting costs no attempts).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from redis.client import PubSubWorkerThread
from rq.command import parse_payload
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.utils import now as utc_now
from rq.worker import SimpleWorker, WorkerStatus

from memo_desktop.core.errors import PermanentJobError
from memo_desktop.core.jobs import events
from memo_desktop.core.jobs.client import last_line
from memo_desktop.core.jobs.registry import RegisteredJob
from memo_desktop.core.jobs.states import JobState, state_from_rq
from memo_desktop.core import outcomes
from memo_desktop.core.queueing import dead_letters, retention
from memo_desktop.core.queueing.lanes import Lane, base_of
from memo_desktop.core.redis_errors import REDIS_FAILURES
from memo_desktop.core.threads import join_thread
from memo_desktop.core.workers.gate import DependencyGate
from memo_desktop.core.workers.lane_view import LaneView, Serving
from memo_desktop.core.workers.rate_limit import RateLimiter, UserRateLimits

log = logging.getLogger(__name__)

POLL_SECONDS = 1          # longest a dequeue blocks before the stop flag is looked at again
BURST_POLL_SECONDS = 0.01  # a burst worker's dequeue: one BLPOP over every lane, barely blocking
HEARTBEAT_SECONDS = 5     # how often a busy worker proves its job is alive
HEARTBEAT_TTL = 20        # a job not heartbeated for this long is abandoned (its worker died)
PUBSUB_POLL_SECONDS = 0.25  # the pubsub thread's read timeout: how soon it notices it should stop


class ThreadWorker(SimpleWorker):
    death_penalty_class = TimerDeathPenalty
    job_class = RegisteredJob

    def __init__(self, queues: list[str], *, connection: redis.Redis, context: Any, limiter: RateLimiter,
                 keep_completed: int, keep_failed: int, name: str, gate: DependencyGate | None = None,
                 lanes: LaneView | None = None, user_limits: UserRateLimits | None = None,
                 keep_dead: int = 10_000) -> None:
        super().__init__(queues, name=name, connection=connection, serializer=JSONSerializer,
                         job_class=RegisteredJob, worker_ttl=60)
        self.context = context  # what every job this worker runs receives
        self._gate = gate or DependencyGate()
        self._limiter = limiter
        self._lanes = lanes or LaneView(connection, queues)
        self._user_limits = user_limits or UserRateLimits(connection, 0)
        self._held_users: dict[str, float] = {}  # user -> when their rate limit has room again (monotonic)
        self._last_user: str | None = None  # the user whose job this worker ran last: the next turn starts after it
        self._keep = (keep_completed, keep_failed)
        self._keep_dead = keep_dead
        self._stop_event = threading.Event()
        self._beater: threading.Thread | None = None
        self._beating: tuple[Job, Execution] | None = None
        self._stop_beats = threading.Event()
        self._beat_lock = threading.Lock()
        self._beat_at = -1.0
        self.current_job_id: str | None = None
        self.abandoned = False

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
        """rq's pubsub thread, with a short read timeout (rq: 60 s) so that it can stop by itself (see
        `unsubscribe`)."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # what `run_in_thread` does, with the thread named before it starts (renamed after, it ran as Thread-N)
        self.pubsub_thread = PubSubWorkerThread(self.pubsub, PUBSUB_POLL_SECONDS, daemon=True,
                                                exception_handler=self._pubsub_exception_handler)
        self.pubsub_thread.name = f"{self.name}-commands"
        self.pubsub_thread.start()

    def unsubscribe(self) -> None:
        """rq closes the pubsub connection from this thread while its pubsub thread may still be reading it (EBADF
        in that thread); here the pubsub thread is told to stop and closes its own connection within one poll."""
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()
            join_thread(self.pubsub_thread, PUBSUB_POLL_SECONDS + 1)

    def handle_payload(self, message: Any) -> None:
        """rq's pubsub commands, made thread-safe: `shutdown` stops this worker (rq would SIGINT the process)."""
        payload = parse_payload(message)
        command = payload.get("command")
        if command == "shutdown":
            log.info("worker %s: shutdown requested through pubsub", self.name)
            self.request_thread_stop()
        else:
            log.warning("worker %s: ignoring pubsub command %r (not supported by thread workers)", self.name, command)

    # -- dequeue: priorities, users, rate limits, pause, stop flag ------------------------------------------------
    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None
                                     ) -> tuple[Job, Queue] | None:
        burst = timeout is None
        if self.get_state() != WorkerStatus.IDLE:  # execute_job already said so after the last job
            self.set_state(WorkerStatus.IDLE)
        backoff = 0.5
        while not self._stop_requested:
            token = None
            try:
                if time.monotonic() - self._beat_at >= 1.0:  # `_after_job` has just sent one
                    self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                if not self._gate.is_open():
                    if burst:
                        return None
                    self._gate.wait_open(self._stop_event, POLL_SECONDS)
                    continue
                held = self._users_on_hold()
                serving = self._lanes.serving(self._last_user, held)
                if not serving.lanes:
                    if burst and not held:
                        return None
                    self._stop_event.wait(self._hold_wait(POLL_SECONDS))
                    continue
                token = self._limiter.acquire(self._stop_event, hold=0 if burst else POLL_SECONDS)
                if token is None:
                    return None
                # a user on hold is looked at again as soon as their window has room, not after a whole poll
                result = self._pop(serving, BURST_POLL_SECONDS if burst else self._hold_wait(POLL_SECONDS))
                backoff = 0.5
                if result is None:
                    self._limiter.release(token)
                    if burst and not held:
                        return None
                    if held and burst:
                        self._stop_event.wait(self._hold_wait(POLL_SECONDS))
                    continue
                job, lane = result
                if lane.user is not None and self._user_limits.enabled:
                    wait = self._user_limits.try_start(lane.user)
                    if wait:  # this user has started enough for now: the job goes back to the head of its lane
                        self.connection.lpush(lane.key, job.id)
                        self._held_users[lane.user] = time.monotonic() + wait
                        self._limiter.release(token)
                        continue
                self._last_user = lane.user
                self._limiter.started(token)
                return job, self._queue_of(lane)
            except REDIS_FAILURES as exc:  # a slot it held expires by itself after `hold`
                # the process's supervisor says so once; each worker only backs off
                log.debug("worker %s: Redis unreachable (%s); retrying in %.1f s", self.name, exc, backoff)
                self._stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        return None

    def _pop(self, serving: Serving, timeout: float) -> tuple[Job, Lane] | None:
        """The first job of the first non-empty lane, in the given order: one BLPOP (Redis checks its keys in order).
        A job id whose job was deleted meanwhile is skipped, as rq does."""
        while True:
            popped = self.connection.blpop(serving.keys, timeout)
            if popped is None:
                return None
            key, job_id = (part.decode() for part in popped)
            try:
                job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
            except NoSuchJobError:
                continue
            return job, serving.lane_of(key)

    def _queue_of(self, lane: Lane) -> Queue:
        return self.queue_class(lane.name, connection=self.connection, job_class=self.job_class,
                                serializer=self.serializer, death_penalty_class=self.death_penalty_class)

    def _users_on_hold(self) -> frozenset[str]:
        """Users over their rate limit, whose lanes this worker leaves alone for now."""
        now = time.monotonic()
        for user, until in list(self._held_users.items()):
            if until <= now:
                del self._held_users[user]
        return frozenset(self._held_users)

    def _hold_wait(self, longest: float) -> float:
        """How long to wait while users are on hold: until the first of them has room again (at most `longest`)."""
        if not self._held_users:
            return longest
        return max(0.01, min(longest, min(self._held_users.values()) - time.monotonic()))

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """rq's heartbeat is three commands: send them in one round trip, or none when one went out this very
        moment (rq's loop beats right after each job, which `_after_job` has just done)."""
        if pipeline is not None:
            self._beat_at = time.monotonic()
            super().heartbeat(timeout, pipeline=pipeline)
            return
        if timeout is None and time.monotonic() - self._beat_at < 0.1:
            return
        self._beat_at = time.monotonic()
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipeline=pipe)
            pipe.execute()

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
        job.context = self.context
        self.current_job_id = job.id
        execution = self.prepare_execution(job)
        self._start_heartbeats()
        self._beating = (job, execution)
        try:
            self.perform_job(job, queue, execution)
        finally:
            with self._beat_lock:  # no heartbeat may land after the job ended (it would re-create its keys)
                self._beating = None
            self.current_job_id = None
        if not self.abandoned:
            self._after_job(job, queue)

    def abandon_current_job(self) -> None:
        """The pool handed this worker's job back to its queue (a shutdown that could not wait for it): whatever
        the job still does on this thread is not recorded, and the worker ends after it."""
        self.abandoned = True
        running = self._beating
        if running is not None:
            running[0].handed_back = True
        self.request_thread_stop()

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """rq 3.0's bookkeeping before a job runs, plus the attempt count and the `active` event, in one round trip
        (rq's own method leaves no room for them in its pipeline)."""
        job.meta["attempts"] = int(job.meta.get("attempts", 0)) + 1
        job.meta["progress"] = 0
        with self.connection.pipeline() as pipeline:
            heartbeat_ttl = self.get_heartbeat_ttl(job)
            self.heartbeat(heartbeat_ttl, pipeline=pipeline)
            job.heartbeat(utc_now(), heartbeat_ttl, pipeline=pipeline)
            job.prepare_for_execution(self.name, pipeline=pipeline)
            pipeline.persist(job.key)
            if remove_from_intermediate_queue:
                pipeline.lrem(Queue(job.origin, connection=self.connection).intermediate_queue_key, 1, job.id)
            pipeline.hset(job.key, "meta", job.serializer.dumps(job.meta))  # job.save_meta()
            events.publish(self.connection, job.id, job.origin, JobState.ACTIVE, pipeline=pipeline)
            pipeline.execute()

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """The job's function returned or raised: the heartbeat thread stops beating it *before* rq stores the
        outcome. (Stopping only after, a beat could land once another worker's retention had already trimmed the
        finished job, re-creating its hash with nothing but a heartbeat in it.)"""
        with self._beat_lock:
            self._beating = None
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def _finalize_success(self, job: Job, queue: Queue, execution: Execution, return_value: Any) -> None:
        if self.abandoned:
            log.info("job %s ended after it was handed back; its result here is discarded", job.id)
            return
        super()._finalize_success(job, queue, execution, return_value)

    def _finalize_failure(self, job: Job, queue: Queue, execution: Execution, exc_info: Any) -> None:
        if self.abandoned:  # e.g. its services stopped under it at shutdown: the job runs again from its queue
            log.info("job %s ended after it was handed back (%s); discarded", job.id, exc_info[1])
            return
        if isinstance(exc_info[1], PermanentJobError):
            job.retries_left = 0  # another attempt cannot fix it: fail now, with the reason
        self._gate.report(exc_info[1])  # e.g. the object store went down: stop taking jobs until it is back
        super()._finalize_failure(job, queue, execution, exc_info)

    def _after_job(self, job: Job, queue: Queue) -> None:
        """Go idle, heartbeat, record the duration and outcome, publish it, keep a dead letter of a job that failed
        for good and apply retention, in one round trip (two for a failure: its reason is read)."""
        status = job.get_status(refresh=False)  # set by rq as it stored the outcome; the job may be trimmed already
        state = state_from_rq(status)
        error = ""
        if status == JobStatus.FAILED or status == JobStatus.SCHEDULED:
            latest = job.latest_result()
            error = last_line(latest.exc_string) if latest is not None and latest.exc_string else ""
        progress = 100 if state is JobState.COMPLETED else int(job.meta.get("progress", 0))
        dead_at = None
        with self.connection.pipeline(transaction=False) as pipe:
            self.set_state(WorkerStatus.IDLE, pipeline=pipe)
            self.heartbeat(pipeline=pipe)
            retention.restamp(pipe, job, status)
            outcomes.record(pipe, job, base_of(queue.name), status)  # the duration histogram and failure rate, by queue
            events.publish(self.connection, job.id, queue.name, state, progress, error, pipeline=pipe)
            if status == JobStatus.FAILED:  # no attempt left (or a permanent error): kept until requeued or purged
                dead_letters.record(pipe, dead_letters.of_job(job, error or "failed"), self._keep_dead)
                dead_at = len(pipe.command_stack) - 1
            retention.trim(pipe, self._lanes.lanes(queue.name), *self._keep)
            results = pipe.execute()
        if dead_at is not None:
            dead_letters.report_dropped(results[dead_at], self._keep_dead)

    def _start_heartbeats(self) -> None:
        """One heartbeat thread per worker, for its whole life (not one per job: starting and joining a thread per
        job cost ~1 ms of GIL hand-offs). It keeps the running job's registry entry and the worker alive."""
        if self._beater is not None:
            return

        def beat() -> None:
            while not self._stop_beats.wait(HEARTBEAT_SECONDS):
                with self._beat_lock:
                    current = self._beating
                    if current is None:
                        continue
                    try:
                        self.maintain_heartbeats(*current)
                    except REDIS_FAILURES as exc:
                        log.warning("worker %s: heartbeat for job %s failed: %s", self.name, current[0].id, exc)

        self._beater = threading.Thread(target=beat, name=f"{self.name}-heartbeat", daemon=True)
        self._beater.start()

    def teardown(self) -> None:
        self._stop_beats.set()
        join_thread(self._beater, HEARTBEAT_SECONDS)
        super().teardown()

