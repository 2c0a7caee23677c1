"""The queue client: enqueue validated jobs, read their status, and manage queues (retry, remove, pause, priority,
dead letters).

Every job goes into a lane of its queue (`file-process:high:alice`: see `core.queueing.lanes`), chosen by its
priority and its user (the `user` setting unless given). A job's status names its queue (the base name), its
priority, its user and its lane (`rqQueue`). Queue-wide actions (retry all, clear, pause) act on every lane.

Used by the CLI, the GUI (from worker threads, never the GUI thread) and the pipeline. Redis problems surface as
the app's errors (`RedisUnavailable`, `RedisAuthError`, ...; see `core.redis_errors`).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import JobNotFound, PayloadError, QueueError
from memo_desktop.core.jobs import events
from memo_desktop.core.jobs.contract import (JobOptions, QueueKind, job_id_for, kind_of_queue, queue_name,
                                             validate_payload)
from memo_desktop.core.jobs.progress import PROGRESS_KEY
from memo_desktop.core.jobs.registry import RegisteredJob
from memo_desktop.core.jobs.states import JobState, state_from_rq
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.dead_letters import DeadLetter
from memo_desktop.core.queueing.lanes import Lane, base_of, known_queue_names, lanes_of, move_waiting_job
from memo_desktop.core.queueing.priorities import Priority
from memo_desktop.core.queueing.retention import apply_retention
from memo_desktop.core.queueing.users import PRIORITY_KEY, USER_KEY
from memo_desktop.core.redis_errors import translate_redis_errors

PAUSED_QUEUES_KEY = "memo-desktop:paused-queues"
MAX_ATTEMPTS_KEY = "maxAttempts"  # job.meta: attempts in total (rq keeps only the retries left)
TITLE_KEY = "title"  # job.meta: the memo's title at enqueue, so any machine can name the job
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

# The function each queue runs (registered by memo_desktop.core.jobs.tasks).
TASKS = {
    QueueKind.UPLOAD: "memo_desktop.core.jobs.tasks.upload_file",
    QueueKind.PROCESS: "memo_desktop.core.jobs.tasks.process_file",
    QueueKind.DELETE: "memo_desktop.core.jobs.tasks.delete_file",
}


@dataclass(frozen=True)
class JobStatusInfo:
    """A job's status in the origin design's shape, plus what a user needs to act on it."""

    job_id: str
    queue: str  # the queue's base name (file-process, file-upload@laptop)
    state: JobState
    progress: int
    result: Any
    attempts_made: int
    attempts: int
    error: str
    func: str
    worker: str
    enqueued_at: float | None
    ended_at: float | None
    payload: Mapping[str, Any]
    priority: Priority = Priority.NORMAL
    user: str = ""  # "" for a job queued without a user (by another tool or an older version)
    lane: str = ""  # the RQ queue holding it (what `rq info` lists)
    title: str = ""  # the memo's title at enqueue (job.meta), so any machine can name the job

    def as_dict(self) -> dict[str, Any]:
        """`{jobId, state, progress, result}` first, as the contract says; the rest is extra detail."""
        return {"jobId": self.job_id, "state": self.state.value, "progress": self.progress, "result": self.result,
                "queue": self.queue, "attemptsMade": self.attempts_made, "attempts": self.attempts,
                "failedReason": self.error, "worker": self.worker, "enqueuedAt": self.enqueued_at,
                "finishedAt": self.ended_at, "data": dict(self.payload), "title": self.title,
                "priority": self.priority.value, "userId": self.user or None, "rqQueue": self.lane}


def _timestamp(value: Any) -> float | None:
    return value.timestamp() if value is not None else None


def job_status(job: RegisteredJob, with_result: bool = True, error: str | None = None) -> JobStatusInfo:
    """`with_result=False` skips reading the result (one Redis round trip per job) when a list does not show it;
    `error`: a failed job's error already read (a search reads them for many jobs in one round trip)."""
    state = state_from_rq(job.get_status(refresh=False))
    result = job.return_value() if state is JobState.COMPLETED and with_result else None
    if error is None and state is not JobState.FAILED:
        error = ""
    elif error is None:
        latest = job.latest_result()
        error = last_line(latest.exc_string) if latest is not None and latest.exc_string else "failed"
    # rq counts down `retries_left` on failures, so the total must come from what was set at enqueue
    attempts = job.meta.get(MAX_ATTEMPTS_KEY) or (len(job.retry_intervals) + 1 if job.retry_intervals else
                                                  (job.retries_left or 0) + (job.number_of_retries or 0) + 1)
    payload = job.kwargs.get("payload", {}) if isinstance(job.kwargs, dict) else {}
    lane = Lane.parse(job.origin)
    return JobStatusInfo(
        job_id=job.id, queue=lane.base, state=state, priority=lane.priority, user=lane.user or "", lane=job.origin,
        progress=100 if state is JobState.COMPLETED else int(job.meta.get(PROGRESS_KEY, 0)),
        result=result, attempts_made=int(job.meta.get("attempts", 0)), attempts=int(attempts), error=error,
        func=job.func_name or "", worker=job.worker_name or "", enqueued_at=_timestamp(job.enqueued_at),
        ended_at=_timestamp(job.ended_at), payload=payload if isinstance(payload, dict) else {},
        title=str(job.meta.get(TITLE_KEY) or ""),
    )


def last_line(text: str) -> str:
    """The useful part of a traceback: its last non-empty line (`ErrorType: message`)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    line = lines[-1].strip() if lines else text
    return re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", line)  # "pkg.mod.SomeError: msg" -> "SomeError: msg"


class JobQueue:
    """Enqueue and manage the app's jobs on one Redis connection."""

    def __init__(self, connection: redis.Redis, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings
        self.options = JobOptions.from_settings(settings)

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection, serializer=JSONSerializer, job_class=RegisteredJob)

    def queue_for(self, kind: QueueKind, device: str | None = None) -> Queue:
        return self.queue(queue_name(kind, device or self.settings.device))

    # -- enqueue ----------------------------------------------------------------------------------------------------
    @translate_redis_errors
    def enqueue(self, kind: QueueKind, payload: Mapping[str, Any], priority: Priority | str | None = None,
                user: str | None = None, title: str = "") -> str:
        """Validate and enqueue; returns the job id. A live job with the same id is reused, never duplicated (a
        waiting one is moved up if asked for at a higher priority). `title` (the memo's) goes into the job's meta,
        not its payload: the payload contract stays as it is."""
        data = validate_payload(kind, payload)
        device = data["device"] if kind is QueueKind.UPLOAD else None
        return self.enqueue_function(queue_name(kind, device or self.settings.device), TASKS[kind], data,
                                     job_id=job_id_for(kind, data), priority=priority, user=user, title=title)

    @translate_redis_errors
    def enqueue_function(self, queue: str, func: str, payload: Mapping[str, Any], job_id: str | None = None,
                         description: str | None = None, priority: Priority | str | None = None,
                         user: str | None = None, title: str = "", options: JobOptions | None = None) -> str:
        """Enqueue a registered job function by name (the payload is its only argument) into the lane of `queue`
        for `priority` (default normal) and `user` (default the `user` setting); a lane name is used as it is.
        `options`: attempts and backoff of this job when they are not the settings' (webhook deliveries retry sooner
        and longer)."""
        lane = self.lane_for(queue, priority, user)
        if job_id is not None:
            existing = self._fetch(job_id)
            if existing is not None:
                status = existing.get_status(refresh=False)
                if status in LIVE_STATUSES:
                    current = Lane.parse(existing.origin)
                    if status == JobStatus.QUEUED and lane.priority.rank < current.priority.rank:
                        self._move(existing, Lane(current.base, lane.priority, current.user or lane.user))
                    return job_id
                existing.delete()  # a finished or failed run of the same work: start a fresh one
        return self._enqueue_call(lane, func, (), {"payload": dict(payload)}, job_id, description, title, options)

    def lane_for(self, queue: str, priority: Priority | str | None = None, user: str | None = None) -> Lane:
        """The lane a job of `queue` goes into; bad priorities and user names are refused (PayloadError)."""
        given = Lane.parse(queue)
        if given.user is not None and priority is None and user is None:
            return given
        return Lane.of(given.base, priority if priority is not None else given.priority,
                       user if user is not None else given.user or self.settings.user)

    def _enqueue_call(self, lane: Lane, func: str, args: tuple, kwargs: dict, job_id: str | None,
                      description: str | None, title: str = "", options: JobOptions | None = None) -> str:
        options = options or self.options
        rq_queue = self.queue(lane.name)
        meta = {PROGRESS_KEY: 0, "attempts": 0, MAX_ATTEMPTS_KEY: options.attempts, PRIORITY_KEY: lane.priority.value,
                USER_KEY: lane.user, **({TITLE_KEY: title} if title else {})}
        with self.connection.pipeline() as pipe:  # the job and its event in one atomic round trip
            job = rq_queue.enqueue_call(
                func, args=args, kwargs=kwargs, job_id=job_id, timeout=options.timeout,
                result_ttl=options.result_ttl, failure_ttl=options.failure_ttl, retry=options.retry(), meta=meta,
                description=description or f"{lane.base} {job_id or ''}".strip(), pipeline=pipe,
            )
            events.publish(self.connection, job.id, lane.name, JobState.WAITING, pipeline=pipe)
            pipe.execute()
        return job.id

    # -- read -------------------------------------------------------------------------------------------------------
    def _fetch(self, job_id: str) -> RegisteredJob | None:
        try:
            return RegisteredJob.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return None

    def fetch(self, job_id: str) -> RegisteredJob:
        job = self._fetch(job_id)
        if job is None:
            raise JobNotFound(f"no job with id '{job_id}' (it may have been removed by retention)")
        return job

    @translate_redis_errors
    def is_live(self, job_id: str) -> bool:
        """Is the job waiting, running or scheduled (so enqueueing the same work again would duplicate it)?"""
        job = self._fetch(job_id)
        return job is not None and job.get_status(refresh=False) in LIVE_STATUSES

    @translate_redis_errors
    def status(self, job_id: str) -> JobStatusInfo:
        return job_status(self.fetch(job_id))

    @translate_redis_errors
    def statuses(self, job_ids: Iterable[str], with_results: bool = True) -> list[JobStatusInfo]:
        jobs = RegisteredJob.fetch_many(list(job_ids), connection=self.connection, serializer=JSONSerializer)
        return [job_status(job, with_results) for job in jobs if job is not None]

    # -- actions ----------------------------------------------------------------------------------------------------
    @translate_redis_errors
    def set_priority(self, job_id: str, priority: Priority | str) -> JobStatusInfo:
        """Move a waiting job to the lane of another priority (to the end of it); refused for a job that is not
        waiting. Returns its new status."""
        target = Priority.parse(priority)
        job = self.fetch(job_id)
        current = Lane.parse(job.origin)
        if current.priority is not target:
            if job.get_status(refresh=False) != JobStatus.QUEUED:
                state = state_from_rq(job.get_status(refresh=False)).value
                raise QueueError(f"job '{job_id}' is {state}: only a waiting job's priority can be changed")
            self._move(job, Lane(current.base, target, current.user or self.settings.user))
        return self.status(job_id)

    def _move(self, job: RegisteredJob, target: Lane) -> None:
        if not move_waiting_job(self.connection, job.key, job.id, Lane.parse(job.origin), target):
            raise QueueError(f"job '{job.id}' is no longer waiting (a worker took it); its priority stays")
        events.publish(self.connection, job.id, target.name, JobState.WAITING)

    @translate_redis_errors
    def retry(self, job_id: str) -> None:
        """Run a failed job again with a fresh set of attempts (a dead letter too: it leaves the dead-letter queue).
        A job that is waiting or running already is left alone."""
        job = self._fetch(job_id)
        if job is None:
            letter = dead_letters.get(self.connection, job_id)
            if letter is None:
                raise JobNotFound(f"no job with id '{job_id}' (it may have been removed by retention)")
            self._requeue_letter(letter)
            return
        if job.get_status(refresh=False) not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            return
        attempts = int(job.meta.get(MAX_ATTEMPTS_KEY) or self.options.attempts)  # the job's own, if it has them
        job.retries_left = attempts - 1
        job.number_of_retries = 0
        job.meta.update({PROGRESS_KEY: 0, "attempts": 0, MAX_ATTEMPTS_KEY: attempts})
        job.save()
        registry = FailedJobRegistry(job.origin, connection=self.connection, serializer=JSONSerializer,
                                     job_class=RegisteredJob)
        try:
            registry.requeue(job)
        except InvalidJobOperation:  # not in the failed registry any more (trimmed): queue it again as it was
            job.delete()
            self._requeue_letter(dead_letters.of_job(job, ""))
            return
        dead_letters.remove(self.connection, [job_id])
        events.publish(self.connection, job.id, job.origin, JobState.WAITING)

    def _requeue_letter(self, letter: DeadLetter) -> None:
        """A dead letter whose rq job is gone (trimmed by retention): the same function, arguments, id and lane."""
        options = dataclasses.replace(self.options, attempts=letter.max_attempts) if letter.max_attempts else None
        self._enqueue_call(Lane.parse(letter.lane), letter.func, letter.args, dict(letter.kwargs), letter.job_id,
                           letter.description or None, letter.title, options)
        dead_letters.remove(self.connection, [letter.job_id])

    @translate_redis_errors
    def requeue_dead_letter(self, job_id: str) -> bool:
        """Run a dead letter's job again with fresh attempts, in its lane; it leaves the dead-letter queue. False
        when its job was waiting or running already (it only leaves the dead-letter queue then)."""
        letter = dead_letters.get(self.connection, job_id)
        if letter is None:
            raise JobNotFound(f"no dead letter with id '{job_id}' (requeued or purged already?)")
        job = self._fetch(job_id)
        status = job.get_status(refresh=False) if job is not None else None
        if status in LIVE_STATUSES:
            dead_letters.remove(self.connection, [job_id])
            return False
        if status == JobStatus.FAILED:
            self.retry(job_id)  # the same job, its history kept
            return True
        if job is not None:
            job.delete()
        self._requeue_letter(letter)
        return True

    @translate_redis_errors
    def requeue_dead_letters(self, queue: str | None = None) -> int:
        """Requeue every dead letter (of one queue), each with fresh attempts; returns how many were queued."""
        requeued = 0
        while batch := dead_letters.ids(self.connection, queue):
            for job_id in batch:
                try:
                    requeued += self.requeue_dead_letter(job_id)
                except JobNotFound:  # purged meanwhile
                    pass
            dead_letters.remove(self.connection, batch, queue)  # already gone; this only keeps the loop finite
        return requeued

    @translate_redis_errors
    def retry_all_failed(self, queue: str) -> int:
        job_ids = []
        for lane in self.lanes(queue):
            registry = FailedJobRegistry(lane, connection=self.connection, serializer=JSONSerializer,
                                         job_class=RegisteredJob)
            job_ids += registry.get_job_ids(cleanup=False)
        for job_id in job_ids:
            self.retry(job_id)
        return len(job_ids)

    @translate_redis_errors
    def remove(self, job_id: str) -> None:
        """Remove a job that is not running (a running job finishes first; removing it is refused), and its dead
        letter if it has one."""
        job = self._fetch(job_id)
        if job is None:
            if dead_letters.remove(self.connection, [job_id]):
                return
            raise JobNotFound(f"no job with id '{job_id}' (it may have been removed by retention)")
        if job.get_status(refresh=False) == JobStatus.STARTED:
            raise JobNotFound(f"job '{job_id}' is running; wait for it to finish before removing it")
        job.delete()
        dead_letters.remove(self.connection, [job_id])
        events.publish(self.connection, job_id, job.origin, JobState.CANCELED)

    @translate_redis_errors
    def clear_completed(self, queue: str) -> int:
        return apply_retention(self.connection, self.lanes(queue), keep_completed=0, keep_failed=sys.maxsize)

    @translate_redis_errors
    def pause(self, queue: str) -> None:
        """Workers take no job of this queue (any of its lanes) until it is resumed."""
        self.connection.sadd(PAUSED_QUEUES_KEY, base_of(queue))

    @translate_redis_errors
    def resume(self, queue: str) -> None:
        self.connection.srem(PAUSED_QUEUES_KEY, base_of(queue))

    @translate_redis_errors
    def paused_queues(self) -> set[str]:
        return {name.decode() for name in self.connection.smembers(PAUSED_QUEUES_KEY)}

    @translate_redis_errors
    def queue_names(self, kind: QueueKind) -> list[str]:
        """Every queue of this kind on the Redis, by base name (upload queues exist per device)."""
        names = {base_of(name) for name in known_queue_names(self.connection)}
        names.add(queue_name(kind, self.settings.device))
        return sorted(n for n in names if kind_of_queue_safe(n) is kind)

    @translate_redis_errors
    def lanes(self, queue: str) -> list[str]:
        """The RQ queues (lanes) of a queue, its plain queue included."""
        return [lane.name for lane in lanes_of(known_queue_names(self.connection), [queue])]


def kind_of_queue_safe(name: str) -> QueueKind | None:
    try:
        return kind_of_queue(name)
    except PayloadError:  # foreign queues on a shared Redis are simply not ours
        return None
