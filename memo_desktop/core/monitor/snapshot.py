"""Immutable snapshots of the queues, cheap enough to take several times a second.

Counts come from LLEN/ZCARD in one pipelined round trip, never from scanning registries, so they cost the same with
100 or 100,000 jobs in the history. Job lists are read a page at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.alerts import Alert, active_alert_commands, alerts_from
from memo_desktop.core.jobs.client import PAUSED_QUEUES_KEY, JobQueue, JobStatusInfo, kind_of_queue_safe
from memo_desktop.core.jobs.contract import QueueKind, is_app_queue
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
    alerts: tuple[Alert, ...] = ()  # the cluster's active alerts (core.alerts)

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
        data["alerts"] = [alert.as_dict() for alert in self.alerts] if self.connected else None
        return data


def _registries(name: str, connection: redis.Redis) -> tuple[str, str, str, str, str]:
    kw = {"connection": connection, "serializer": JSONSerializer}
    return (Queue(name, **kw).key, StartedJobRegistry(name, **kw).key, ScheduledJobRegistry(name, **kw).key,
            FinishedJobRegistry(name, **kw).key, FailedJobRegistry(name, **kw).key)


def known_queue_names(connection: redis.Redis, local_names: list[str]) -> list[str]:
    names = {raw.decode().removeprefix(Queue.redis_queue_namespace_prefix)
             for raw in connection.smembers(Queue.redis_queues_keys)}
    return sorted(n for n in names | set(local_names) if is_app_queue(n))


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
            active_alert_commands(pipe)
            raw = pipe.execute()
        tail = len(names) * 5
        paused = {p.decode() for p in raw[tail]}
        alerts = alerts_from(raw[tail + 1:])
        queues = {}
        for i, name in enumerate(names):
            waiting, active, scheduled, completed, failed = raw[i * 5:(i + 1) * 5]
            queues[name] = QueueCounts(waiting, active, scheduled, completed, failed, name in paused)
        workers = read_workers(connection) if with_workers else ()
    except REDIS_FAILURES as exc:
        return HealthSnapshot(False, error=str(translate(exc, describe(connection))), taken_at=time.time())
    return HealthSnapshot(True, queues=queues, workers=workers, taken_at=time.time(), alerts=alerts)


def read_workers(connection: redis.Redis) -> tuple[WorkerRow, ...]:
    rows = []
    for worker in Worker.all(connection=connection, serializer=JSONSerializer):
        rows.append(WorkerRow(worker.name, worker.hostname or "", str(worker.get_state()),
                              tuple(worker.queue_names()), worker.get_current_job_id()))
    return tuple(sorted(rows, key=lambda r: r.name))


TitleLookup = Callable[[Iterable[str]], Mapping[str, str]]  # memo ids -> their titles in this machine's library


def memo_id_of(payload: Mapping[str, Any]) -> str:
    """The memo a job is about (uploads name it `memoId`, processing and deletion `fileId`)."""
    return str(payload.get("memoId") or payload.get("fileId") or "")


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
    title: str  # the memo's title: this library's when the memo lives here, else the one stored at enqueue
    enqueued_at: float | None
    ended_at: float | None
    memo_id: str = ""

    @classmethod
    def from_status(cls, info: JobStatusInfo, titles: Mapping[str, str] | None = None) -> JobRow:
        payload = info.payload
        memo_id = memo_id_of(payload)
        title = (titles or {}).get(memo_id) or info.title or _fallback_title(payload)
        return cls(info.job_id, info.queue, info.state, info.progress, info.attempts_made, info.attempts,
                   info.worker, info.error, title.strip(), info.enqueued_at, info.ended_at, memo_id)


def _fallback_title(payload: Mapping[str, Any]) -> str:
    """Jobs queued before titles went into their meta: what the payload says (never the stored `<id>.wav`)."""
    operation = payload.get("operation") or payload.get("type") or ""
    return f"{operation} {memo_id_of(payload)}".strip() or str(payload.get("filename") or "")


def job_ids_page(connection: redis.Redis, queue: str, state: JobState, offset: int, limit: int) -> list[str]:
    """The ids of one page of a queue's jobs in one state, newest first for history states."""
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
    return [StartedJobRegistry.parse_job_id(raw) for raw in ids]


def rows_for(jobs: JobQueue, job_ids: list[str], titles: TitleLookup | None = None) -> list[JobRow]:
    infos = jobs.statuses(job_ids, with_results=False)
    known = titles(memo_id_of(info.payload) for info in infos) if titles is not None else {}
    return [JobRow.from_status(info, known) for info in infos]


def list_jobs(jobs: JobQueue, queue: str, state: JobState, offset: int = 0, limit: int = 50,
              titles: TitleLookup | None = None) -> list[JobRow]:
    """One page of a queue's jobs in one state, newest first for history states. `titles` names each job by its
    memo's title in this machine's library (e.g. `library.titles`)."""
    return rows_for(jobs, job_ids_page(jobs.connection, queue, state, offset, limit), titles)
