"""The app's background services, run on one thread the GUI never waits for.

`ServiceHost` owns the AppContext and everything that talks to the outside at start and stop: the embedded Redis
and object store, the recovery pass, re-queueing of pending uploads, the in-app worker pool and the QueueWatcher.
All of it runs on the host thread (a plain thread with a command queue: one owner, ordered steps); what the GUI
needs comes back as signals carrying immutable values (HealthSnapshot, tuples of JobEvent, StartupReport,
ConnectionState).

Lifecycle: `start()` -> ... -> `shutdown(before=...)` -> `shutdown_finished` -> `join()`. Settings changes swap the
whole service *generation* (watcher, workers, context) on the same thread, so nothing is half-applied.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import redis
from PySide6.QtCore import QObject, Signal

from memo_desktop.core.config import Settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError
from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.monitor import HealthSnapshot, QueueWatcher
from memo_desktop.core.pipeline import requeue_pending
from memo_desktop.core.processing.collector import ResultCollector
from memo_desktop.core.secrets import mask_url
from memo_desktop.core.recordings import recover_into_library
from memo_desktop.core.workers.pool import WorkerPool
from memo_desktop.ui.background import describe_error

log = logging.getLogger(__name__)

STORE_CHECK_INTERVAL = 10.0  # s between object-store health probes (a HEAD request on the host thread)
WORKER_STOP_TIMEOUT = 5.0  # s a running job may take to finish at shutdown before it is handed back
_HEALTH_PROBE_KEY = ".memo-desktop-health"


@dataclass(frozen=True)
class ConnectionState:
    service: str  # "redis" or "store"
    connected: bool | None  # None: not known yet (starting)
    detail: str  # the address when connected, the reason otherwise


@dataclass(frozen=True)
class StartupReport:
    recovered_titles: tuple[str, ...]
    requeued: int
    workers: int
    problems: tuple[str, ...]


class ServiceHost(QObject):
    connection_changed = Signal(object)  # ConnectionState
    startup_finished = Signal(object)  # StartupReport
    snapshot_taken = Signal(object)  # HealthSnapshot
    job_events_received = Signal(object)  # tuple[JobEvent, ...]
    library_changed = Signal()  # memos were added behind the GUI's back (recovery pass)
    problem_reported = Signal(str)
    settings_applied = Signal(object)  # Settings
    shutdown_finished = Signal()

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Creating the context does no I/O (everything in it starts lazily), so the GUI can hold it from the start.
        self._context = AppContext(settings)
        self._commands: queue.SimpleQueue[Callable[[], bool | None]] = queue.SimpleQueue()
        # daemon: the shutdown sequence is bounded step by step, and a step stuck in a C call must not keep a
        # closed app's process alive; join() is still the normal end.
        self._thread = threading.Thread(target=self._run, name="service-host", daemon=True)
        self._pool: WorkerPool | None = None
        self._watcher: QueueWatcher | None = None
        self._collector: ResultCollector | None = None
        self._redis_state: bool | None = None
        self._store_state: bool | None = None
        self._shutting_down = False

    # -- what the GUI thread may call (never blocks) ---------------------------------------------------------------
    @property
    def context(self) -> AppContext:
        return self._context

    @property
    def settings(self) -> Settings:
        return self._context.settings

    def start(self) -> None:
        self._thread.start()
        self._commands.put(self._start_generation)

    def apply_settings(self, settings: Settings) -> None:
        """Swap to a new service generation with these settings (after they were saved)."""
        self._commands.put(lambda: self._apply_settings(settings))

    def refresh_snapshot(self) -> None:
        """Counts soon, e.g. after a user action (an in-memory request to the watcher)."""
        watcher = self._watcher
        if watcher is not None:
            watcher.refresh()

    def shutdown(self, before: Sequence[Callable[[], object]] = ()) -> None:
        """Ordered, bounded shutdown: `before` steps (recording, deletions, playback), workers, watcher, services."""
        if self._shutting_down:
            return
        self._shutting_down = True
        if not self._thread.is_alive():
            self._thread.start()
        self._commands.put(lambda: self._shutdown(before))

    def join(self, timeout: float = 5.0) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the host thread --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                command = self._commands.get(timeout=STORE_CHECK_INTERVAL)
            except queue.Empty:
                command = self._check_store
            try:
                if command() is False:
                    return
            except Exception as exc:  # noqa: BLE001 - keep the host alive; the problem is shown to the user
                log.exception("service host step failed")
                self.problem_reported.emit(describe_error(exc))

    def _start_generation(self) -> None:
        ctx = self._context
        settings = ctx.settings
        problems: list[str] = []
        redis_ok = self._start_redis(ctx, problems)
        self._check_store(starting=True)
        recovered: tuple[str, ...] = ()
        try:
            added = recover_into_library(ctx)
            recovered = tuple(result.memo.title for _, result in added)
            if added:
                self.library_changed.emit()
        except MemoError as exc:
            problems.append(f"recovery pass: {exc}")
        requeued = 0
        if redis_ok:
            requeued = self._requeue(problems)
            if settings.workers_in_app:
                self._start_pool(problems)
            self._start_collector()
        if redis_ok or settings.redis_url:
            # also for a configured Redis that is down now: the watcher notices it coming back (the uploads that
            # waited are queued and the workers start then, see _on_redis_back)
            self._watcher = QueueWatcher(ctx.redis, ctx.queue_names(), on_snapshot=self._on_watcher_snapshot,
                                         on_events=self._on_watcher_events).start()
        workers = self._pool.concurrency if self._pool is not None else 0
        for problem in problems:
            self.problem_reported.emit(problem)
        self.startup_finished.emit(StartupReport(recovered, requeued, workers, tuple(problems)))

    def _start_redis(self, ctx: AppContext, problems: list[str]) -> bool:
        self._set_redis_state(None, "starting…")
        try:
            url = ctx.redis_url
            ctx.redis.ping()
        except (MemoError, redis.RedisError, OSError) as exc:  # shown; the app keeps working offline
            message = str(exc) if isinstance(exc, MemoError) else f"cannot reach Redis: {exc}"
            self._set_redis_state(False, message)
            problems.append(f"Redis: {message}")
            return False
        self._set_redis_state(True, mask_url(url))
        return True

    def _requeue(self, problems: list[str]) -> int:
        try:
            return len(requeue_pending(self._context))
        except MemoError as exc:
            problems.append(f"re-queueing pending uploads: {exc}")
            return 0

    def _start_pool(self, problems: list[str]) -> None:
        try:
            self._pool = self._context.start_workers()
        except MemoError as exc:
            problems.append(f"workers: {exc}")
        except Exception as exc:  # noqa: BLE001 - a Redis error at start: shown; the pool is retried on reconnect
            problems.append(f"workers could not start: {describe_error(exc)}")

    def _start_collector(self) -> None:
        """Results that workers on other machines computed for our memos come into the library by themselves."""
        self._collector = ResultCollector(self._context, on_collected=self.library_changed.emit).start()

    def _check_store(self, starting: bool = False) -> None:
        if self._shutting_down:
            return
        if starting:
            self._set_store_state(None, "starting…")
        try:
            store = self._context.object_store
            store.exists(_HEALTH_PROBE_KEY)
        except MemoError as exc:
            self._set_store_state(False, str(exc))
            return
        self._set_store_state(True, store.url)

    def _set_redis_state(self, connected: bool | None, detail: str) -> None:
        self._redis_state = connected
        self.connection_changed.emit(ConnectionState("redis", connected, detail))

    def _set_store_state(self, connected: bool | None, detail: str) -> None:
        if connected != self._store_state or connected is None or not connected:
            self.connection_changed.emit(ConnectionState("store", connected, detail))
        self._store_state = connected

    # -- watcher callbacks (watcher thread): forward, and notice Redis coming back ---------------------------------
    def _on_watcher_snapshot(self, snapshot: HealthSnapshot) -> None:
        if snapshot.connected != self._redis_state:
            was_down = self._redis_state is False
            self._set_redis_state(snapshot.connected,
                                  mask_url(self._context.redis_url) if snapshot.connected else snapshot.error)
            if snapshot.connected and was_down:
                self._commands.put(self._on_redis_back)
        self.snapshot_taken.emit(snapshot)

    def _on_watcher_events(self, events: list[JobEvent]) -> None:
        self.job_events_received.emit(tuple(events))

    def _on_redis_back(self) -> None:
        """DESIGN: when Redis comes back, memos without a live job are queued again (and workers restarted)."""
        if self._shutting_down:
            return
        problems: list[str] = []
        if self._requeue(problems):
            self.library_changed.emit()
        if self._pool is None and self._context.settings.workers_in_app:
            self._start_pool(problems)
        if self._collector is None:
            self._start_collector()
        for problem in problems:
            self.problem_reported.emit(problem)

    # -- settings and shutdown ---------------------------------------------------------------------------------------
    def _stop_generation(self) -> None:
        """Workers (a job still running after the timeout is handed back), then the watcher, then the services."""
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                pool.stop(timeout=WORKER_STOP_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - shutdown goes on; the job is re-queued at the next start
                self.problem_reported.emit(f"stopping the workers: {describe_error(exc)}")
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop(timeout=3.0)
        collector, self._collector = self._collector, None
        if collector is not None:
            collector.stop(timeout=3.0)
        try:
            self._context.close()
        except Exception as exc:  # noqa: BLE001 - report and go on: the next step must still run
            self.problem_reported.emit(f"stopping the services: {describe_error(exc)}")

    def _apply_settings(self, settings: Settings) -> None:
        started = time.monotonic()
        self._stop_generation()
        self._context = AppContext(settings)
        self._redis_state = self._store_state = None
        self._start_generation()
        log.info("settings applied in %.2f s", time.monotonic() - started)
        self.settings_applied.emit(settings)

    def _shutdown(self, before: Sequence[Callable[[], object]]) -> bool:
        for step in before:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - every later step must still run (bounded, ordered)
                log.exception("shutdown step failed")
                self.problem_reported.emit(describe_error(exc))
        self._stop_generation()
        self.shutdown_finished.emit()
        return False

