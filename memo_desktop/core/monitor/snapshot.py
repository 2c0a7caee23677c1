"""Immutable snapshots of the queues, cheap enough to take several times a second.

Counts come from LLEN/ZCARD in one pipelined round trip, never from scanning registries, so they cost the same with
100 or 100,000 jobs in the history. Job lists are read a page at a time.

Counts are read per RQ queue, i.e. per lane (`file-process:high:alice`: `queues`), and summed per queue (`by_base`,
what the panel and the page list), per kind (`by_kind`, the health JSON's fileUpload/fileProcess/fileDelete) and per
user (`by_user`). A page of a queue's jobs (`job_ids_page`) reads all its lanes; a lane name reads that lane.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.alerts import Alert, active_alert_commands, alerts_from
from memo_desktop.core.jobs.client import PAUSED_QUEUES_KEY, JobQueue, JobStatusInfo, kind_of_queue_safe
from memo_desktop.core.jobs.contract import QueueKind, is_app_queue
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.lanes import Lane, base_of, known_queue_names as rq_queue_names, lanes_of, serving_order
from memo_desktop.core.queueing.priorities import Priority
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


def _sum(counts: Iterable[QueueCounts]) -> QueueCounts:
    total = QueueCounts()
    for item in counts:
        total = total + item
    return total


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
    queues: dict[str, QueueCounts] = field(default_factory=dict)  # RQ queue (lane) name -> counts
    workers: tuple[WorkerRow, ...] = ()
    taken_at: float = 0.0
    alerts: tuple[Alert, ...] = ()  # the cluster's active alerts (core.alerts)
    dead_letters: dict[str, int] = field(default_factory=dict)  # queue (base name) -> dead letters

    @cached_property
    def by_base(self) -> dict[str, QueueCounts]:
        """Counts per queue (`file-process`, `file-upload@laptop`), over all its lanes."""
        groups: dict[str, list[QueueCounts]] = {}
        for name, counts in self.queues.items():
            groups.setdefault(base_of(name), []).append(counts)
        return {base: _sum(items) for base, items in sorted(groups.items())}

    def counts_of(self, queue: str) -> QueueCounts | None:
        """A queue's counts over its lanes, or one lane's when given a lane name."""
        return self.queues.get(queue) if Lane.parse(queue).user is not None else self.by_base.get(queue)

    def by_kind(self) -> dict[QueueKind, QueueCounts]:
        totals = {kind: QueueCounts() for kind in QueueKind}
        for name, counts in self.by_base.items():
            kind = kind_of_queue_safe(name)
            if kind is not None:
                totals[kind] = totals[kind] + counts
        return totals

    @cached_property
    def by_user(self) -> dict[str, QueueCounts]:
        """Counts per user over every queue (jobs queued without a user, by other tools, are not in it)."""
        groups: dict[str, list[QueueCounts]] = {}
        for name, counts in self.queues.items():
            user = Lane.parse(name).user
            if user is not None:
                groups.setdefault(user, []).append(QueueCounts(counts.waiting, counts.active, counts.scheduled,
                                                               counts.completed, counts.failed))
        return {user: _sum(items) for user, items in sorted(groups.items())}

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
            data["users"] = {user: {k: v for k, v in counts.as_dict().items() if k != "paused"}
                             for user, counts in self.by_user.items()}
            data["deadLetters"] = dict(self.dead_letters)
        else:
            data["error"] = self.error
        data["alerts"] = [alert.as_dict() for alert in self.alerts] if self.connected else None
        return data


def _registries(name: str, connection: redis.Redis) -> tuple[str, str, str, str, str]:
    kw = {"connection": connection, "serializer": JSONSerializer}
    return (Queue(name, **kw).key, StartedJobRegistry(name, **kw).key, ScheduledJobRegistry(name, **kw).key,
            FinishedJobRegistry(name, **kw).key, FailedJobRegistry(name, **kw).key)


def known_queue_names(connection: redis.Redis, local_names: list[str]) -> list[str]:
    """Every RQ queue (lane) of the app on the Redis, plus the given local queues."""
    return sorted(n for n in rq_queue_names(connection) | set(local_names) if is_app_queue(n))


def read_health(connection: redis.Redis, local_names: list[str], with_workers: bool = True) -> HealthSnapshot:
    """Counts of every app queue on the Redis; a snapshot saying `connected=False` when Redis is unreachable."""
    try:
        names = known_queue_names(connection, local_names)
        bases = sorted({base_of(name) for name in names})
        with connection.pipeline(transaction=False) as pipe:
            for name in names:
                queue_key, started, scheduled, finished, failed = _registries(name, connection)
                pipe.llen(queue_key)
                pipe.zcard(started)
                pipe.zcard(scheduled)
                pipe.zcard(finished)
                pipe.zcard(failed)
            for base in bases:
                pipe.zcard(dead_letters.queue_key(base))
            pipe.smembers(PAUSED_QUEUES_KEY)
            active_alert_commands(pipe)
            raw = pipe.execute()
        tail = len(names) * 5
        dead = dict(zip(bases, raw[tail:tail + len(bases)]))
        tail += len(bases)
        paused = {p.decode() for p in raw[tail]}
        alerts = alerts_from(raw[tail + 1:])
        queues = {}
        for i, name in enumerate(names):
            waiting, active, scheduled, completed, failed = raw[i * 5:(i + 1) * 5]
            queues[name] = QueueCounts(waiting, active, scheduled, completed, failed,
                                       name in paused or base_of(name) in paused)
        workers = read_workers(connection) if with_workers else ()
    except REDIS_FAILURES as exc:
        return HealthSnapshot(False, error=str(translate(exc, describe(connection))), taken_at=time.time())
    return HealthSnapshot(True, queues=queues, workers=workers, taken_at=time.time(), alerts=alerts,
                          dead_letters=dead)


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
    priority: Priority = Priority.NORMAL
    user: str = ""

    @classmethod
    def from_status(cls, info: JobStatusInfo, titles: Mapping[str, str] | None = None) -> JobRow:
        payload = info.payload
        memo_id = memo_id_of(payload)
        title = (titles or {}).get(memo_id) or info.title or _fallback_title(payload)
        return cls(info.job_id, info.queue, info.state, info.progress, info.attempts_made, info.attempts,
                   info.worker, info.error, title.strip(), info.enqueued_at, info.ended_at, memo_id, info.priority,
                   info.user)


def _fallback_title(payload: Mapping[str, Any]) -> str:
    """Jobs queued before titles went into their meta: what the payload says (never the stored `<id>.wav`)."""
    operation = payload.get("operation") or payload.get("type") or ""
    return f"{operation} {memo_id_of(payload)}".strip() or str(payload.get("filename") or "")


def job_ids_page(connection: redis.Redis, queue: str, state: JobState, offset: int, limit: int,
                 known: Iterable[str] | None = None) -> list[str]:
    """The ids of one page of a queue's jobs in one state, over all its lanes (a lane name: that lane only).
    Waiting jobs come in serving order (high lanes first), running and scheduled ones oldest first, history states
    newest first. `known`: the RQ queues on the Redis when the caller read them already (else they are read)."""
    lanes = [Lane.parse(queue)] if Lane.parse(queue).user is not None else \
        serving_order(lanes_of(rq_queue_names(connection) if known is None else known, [queue]))
    if state is JobState.WAITING:
        ids = _waiting_page(connection, lanes, offset, limit)
    elif state in (JobState.ACTIVE, JobState.SCHEDULED, JobState.COMPLETED, JobState.FAILED):
        ids = _registry_page(connection, lanes, state, offset, limit)
    else:
        return []
    return [StartedJobRegistry.parse_job_id(raw) for raw in ids]


def _waiting_page(connection: redis.Redis, lanes: list[Lane], offset: int, limit: int) -> list[bytes]:
    """A page of the lanes' lists one after the other: list lengths first, then only the ranges the page covers."""
    with connection.pipeline(transaction=False) as pipe:
        for lane in lanes:
            pipe.llen(lane.key)
        lengths = pipe.execute()
    ranges, start = [], 0
    for lane, length in zip(lanes, lengths):
        first, last = max(offset, start), min(offset + limit, start + length)
        if first < last:
            ranges.append((lane.key, first - start, last - start - 1))
        start += length
    with connection.pipeline(transaction=False) as pipe:
        for key, first, last in ranges:
            pipe.lrange(key, first, last)
        return [job_id for chunk in (pipe.execute() if ranges else []) for job_id in chunk]


def _registry_page(connection: redis.Redis, lanes: list[Lane], state: JobState, offset: int, limit: int
                   ) -> list[bytes]:
    """A page of the lanes' registries merged by score: oldest first for running and scheduled jobs, newest first
    for history (whose size retention bounds, so reading offset + limit of each lane stays cheap)."""
    newest_first = state in (JobState.COMPLETED, JobState.FAILED)
    index = {JobState.ACTIVE: 1, JobState.SCHEDULED: 2, JobState.COMPLETED: 3, JobState.FAILED: 4}[state]
    with connection.pipeline(transaction=False) as pipe:
        for lane in lanes:
            key = _registries(lane.name, connection)[index]
            if newest_first:
                pipe.zrevrange(key, 0, offset + limit - 1, withscores=True)
            else:
                pipe.zrange(key, 0, offset + limit - 1, withscores=True)
        chunks = pipe.execute()
    merged = heapq.merge(*chunks, key=lambda entry: -entry[1] if newest_first else entry[1])
    return [entry for entry, _ in list(merged)[offset:offset + limit]]


def rows_for(jobs: JobQueue, job_ids: list[str], titles: TitleLookup | None = None) -> list[JobRow]:
    infos = jobs.statuses(job_ids, with_results=False)
    known = titles(memo_id_of(info.payload) for info in infos) if titles is not None else {}
    return [JobRow.from_status(info, known) for info in infos]


def list_jobs(jobs: JobQueue, queue: str, state: JobState, offset: int = 0, limit: int = 50,
              titles: TitleLookup | None = None) -> list[JobRow]:
    """One page of a queue's jobs in one state (over its lanes), newest first for history states. `titles` names each
    job by its memo's title in this machine's library (e.g. `library.titles`)."""
    return rows_for(jobs, job_ids_page(jobs.connection, queue, state, offset, limit), titles)
