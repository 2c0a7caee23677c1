"""What a runtime runs (its plan), and what it tells the shell around it (its listener)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from memo_desktop.core.jobs.contract import QueueKind

if TYPE_CHECKING:
    from memo_desktop.core.jobs.events import JobEvent
    from memo_desktop.core.monitor import HealthSnapshot
    from memo_desktop.core.runtime.runtime import Runtime

log = logging.getLogger("memo_desktop.runtime")


class RuntimeState(str, Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    CLOSED = "closed"


class Part(Protocol):
    """Something a runtime runs beside its built-in parts (an HTTP server, a scheduler...): it owns its threads."""

    name: str

    def start(self) -> object: ...

    def stop(self, timeout: float) -> bool:
        """Stop within `timeout` s; False (after logging what is still running) if it could not."""
        ...


PartFactory = Callable[["Runtime"], Part]  # builds the part for a runtime (it may keep the runtime to read it)


@dataclass(frozen=True)
class WorkerPlan:
    """An in-process worker pool: which queues (uploads only from this device's queue), how many threads."""

    kinds: tuple[QueueKind, ...] = tuple(QueueKind)
    concurrency: int | None = None  # None: the 'concurrency' setting
    name: str | None = None  # prefix of the workers' names (`rq info`, the queue panel)
    burst: bool = False  # drain the queues, then end


@dataclass(frozen=True)
class RuntimePlan:
    """The parts a process runs. The default plan runs none: a one-shot command uses the runtime's context only
    (its services start on first use)."""

    workers: WorkerPlan | None = None
    requeue_local: bool = False  # queue memos left without a live upload job (at start, periodically, Redis back)
    collect_results: bool = False  # take in what workers elsewhere computed for this library's memos
    watch: bool = False  # queue snapshots and job events for a UI (the listener)
    needs_store: bool = False  # watch the object store; the pool takes no job while it is down
    wait_for_redis: bool = True  # False: start fails at once when Redis is unreachable (burst workers)
    refused_is_fatal: bool = True  # refused credentials end the runtime (headless); False: wait for new settings
    opens_library: bool = False  # open the library at start (which recovers interrupted recordings)
    parts: tuple[PartFactory, ...] = ()  # started with the runtime (whether Redis answers or not), stopped first
    redis_parts: tuple[PartFactory, ...] = ()  # started once Redis answers, after the built-in ones; stopped first

    @property
    def needs_redis(self) -> bool:
        return bool(self.workers or self.requeue_local or self.collect_results or self.watch or self.redis_parts)

    @property
    def uses_library(self) -> bool:
        return self.opens_library or self.requeue_local or self.collect_results


@dataclass(frozen=True)
class ConnectionState:
    service: str  # "redis" or "store"
    connected: bool | None  # None: not known yet (starting)
    detail: str  # the address when connected, the reason otherwise


@dataclass(frozen=True)
class StartReport:
    recovered_titles: tuple[str, ...]
    requeued: int
    workers: int
    problems: tuple[str, ...]


class RuntimeListener:
    """What a shell hears from its runtime. Methods run on runtime threads: they must return quickly and must not
    touch a UI (a Qt shell emits signals). The defaults log what matters to a headless process."""

    def connection_changed(self, state: ConnectionState) -> None:
        """Once per change of a service's state (never once per retry)."""

    def snapshot_taken(self, snapshot: HealthSnapshot) -> None:
        """Queue counts (only with `watch`)."""

    def job_events(self, events: Sequence[JobEvent]) -> None:
        """A burst of job events (only with `watch`)."""

    def library_changed(self) -> None:
        """Memos were added or changed behind the shell's back (recovery, results from elsewhere, re-queueing)."""

    def problem(self, message: str) -> None:
        log.warning("%s", message)
