"""Immutable snapshots of the queues, cheap enough to take several times a second.

Counts come from LLEN/ZCARD in one pipelined round trip, never from scanning registries, so they cost the same with
100 or 100,000 jobs in the history. Job lists are read a page at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.client import PAUSED_QUEUES_KEY, JobQueue, JobStatusInfo, kind_of_queue_safe
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.redis_errors import REDIS_FAILURES, describe, translate


@dataclass(frozen=True)
class QueueCounts:
    waiting: int = 0
    active: int = 0
    scheduled: int = 0
    completed: int = 0
    failed: int = 0
    paused: bool = False

    def __add__(self, other: QueueCounts) -> QueueCounts:
        return QueueCounts(self.waiting + other.waiting, self.active + other.active,
                           self.scheduled + other.scheduled, self.completed + other.completed,
                           self.failed + other.failed, self.paused or other.paused)

    def as_dict(self) -> dict[str, Any]:
        return {"waiting": self.waiting, "active": self.active, "scheduled": self.scheduled,
                "completed": self.completed, "failed": self.failed, "paused": self.paused}


@dataclass(frozen=True)
class WorkerRow:
    name: str
    hostname: str
    state: str
    queues: tuple[str, ...]
    current_job_id: str | None


@dataclass(frozen=True)
class HealthSnapshot:
    connected: bool
    error: str = ""
    queues: dict[str, QueueCounts] = field(default_factory=dict)  # RQ queue name -> counts
    workers: tuple[WorkerRow, ...] = ()
    taken_at: float = 0.0

    def by_kind(self) -> dict[QueueKind, QueueCounts]:
        totals = {kind: QueueCounts() for kind in QueueKind}
        for name, counts in self.queues.items():
            kind = kind_of_queue_safe(name)
            if kind is not None:
                totals[kind] = totals[kind] + counts
        return totals

    def as_dict(self) -> dict[str, Any]:
        """The origin design's health shape: {redis, queues: {fileUpload: {...}, fileProcess, fileDelete}}.
        Disconnected, the counts are unknown: null, never a misleading 0."""
        unknown = dict.fromkeys(QueueCounts().as_dict())
        data: dict[str, Any] = {
            "redis": "connected" if self.connected else "disconnected",
            "queues": {kind.health_key: counts.as_dict() if self.connected else unknown
                       for kind, counts in self.by_kind().items()},
        }
        if self.connected:
            data["workers"] = len(self.workers)
        else:
            data["error"] = self.error
        return data


def _registries(name: str, connection: redis.Redis) -> tuple[str, str, str, str, str]:
    kw = {"connection": connection, "serializer": JSONSerializer}
    return (Queue(name, **kw).key, StartedJobRegistry(name, **kw).key, ScheduledJobRegistry(name, **kw).key,
            FinishedJobRegistry(name, **kw).key, FailedJobRegistry(name, **kw).key)


def known_queue_names(connection: redis.Redis, local_names: list[str]) -> list[str]:
    names = {raw.decode().removeprefix(Queue.redis_queue_namespace_prefix)
             for raw in connection.smembers(Queue.redis_queues_keys)}
    return sorted(n for n in names | set(local_names) if kind_of_queue_safe(n) is not None)


def read_health(connection: redis.Redis, local_names: list[str], with_workers: bool = True) -> HealthSnapshot:
    """Counts of every app queue on the Redis; a snapshot saying `connected=False` when Redis is unreachable."""
    try:
        names = known_queue_names(connection, local_names)
        with connection.pipeline(transaction=False) as pipe:
            for name in names:
                queue_key, started, scheduled, finished, failed = _registries(name, connection)
                pipe.llen(queue_key)
                pipe.zcard(started)
                pipe.zcard(scheduled)
                pipe.zcard(finished)
                pipe.zcard(failed)
            pipe.smembers(PAUSED_QUEUES_KEY)
            raw = pipe.execute()
        paused = {p.decode() for p in raw[-1]}
        queues = {}
        for i, name in enumerate(names):
            waiting, active, scheduled, completed, failed = raw[i * 5:(i + 1) * 5]
            queues[name] = QueueCounts(waiting, active, scheduled, completed, failed, name in paused)
        workers = read_workers(connection) if with_workers else ()
    except REDIS_FAILURES as exc:
        return HealthSnapshot(False, error=str(translate(exc, describe(connection))), taken_at=time.time())
    return HealthSnapshot(True, queues=queues, workers=workers, taken_at=time.time())


def read_workers(connection: redis.Redis) -> tuple[WorkerRow, ...]:
    rows = []
    for worker in Worker.all(connection=connection, serializer=JSONSerializer):
        rows.append(WorkerRow(worker.name, worker.hostname or "", str(worker.get_state()),
                              tuple(worker.queue_names()), worker.get_current_job_id()))
    return tuple(sorted(rows, key=lambda r: r.name))


@dataclass(frozen=True)
class JobRow:
    """One line of the job list (immutable; safe to hand to the GUI thread)."""

    job_id: str
    queue: str
    state: JobState
    progress: int
    attempts_made: int
    attempts: int
    worker: str
    error: str
    title: str
    enqueued_at: float | None
    ended_at: float | None

    @classmethod
    def from_status(cls, info: JobStatusInfo) -> JobRow:
        payload = info.payload
        title = str(payload.get("filename") or payload.get("operation", "") + " " + str(payload.get("fileId", "")))
        return cls(info.job_id, info.queue, info.state, info.progress, info.attempts_made, info.attempts,
                   info.worker, info.error, title.strip(), info.enqueued_at, info.ended_at)


def list_jobs(jobs: JobQueue, queue: str, state: JobState, offset: int = 0, limit: int = 50) -> list[JobRow]:
    """One page of a queue's jobs in one state, newest first for history states."""
    connection = jobs.connection
    queue_key, started, scheduled, finished, failed = _registries(queue, connection)
    end = offset + limit - 1
    if state is JobState.WAITING:
        ids = connection.lrange(queue_key, offset, end)
    elif state is JobState.ACTIVE:
        ids = connection.zrange(started, offset, end)
    elif state is JobState.SCHEDULED:
        ids = connection.zrange(scheduled, offset, end)
    elif state is JobState.COMPLETED:
        ids = connection.zrevrange(finished, offset, end)
    elif state is JobState.FAILED:
        ids = connection.zrevrange(failed, offset, end)
    else:
        return []
    job_ids = [StartedJobRegistry.parse_job_id(raw) for raw in ids]
    return [JobRow.from_status(info) for info in jobs.statuses(job_ids, with_results=False)]
