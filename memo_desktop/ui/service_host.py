"""The GUI's shell over the core runtime: one host thread that starts, swaps and stops it, so the GUI never waits.

Everything the app runs in the background (embedded Redis and object store, recovery, re-queueing, the in-app
worker pool, the result collector, the queue watcher, the supervisor that notices services coming and going) is
the `core.runtime.Runtime`'s; this class only runs its start and stop on the host thread (a plain thread with a
command queue: one owner, ordered steps) and turns what the runtime's listener hears into Qt signals carrying
immutable values (HealthSnapshot, tuples of JobEvent, StartReport, ConnectionState).

Lifecycle: `start()` -> ... -> `shutdown(before=...)` -> `shutdown_finished` -> `join()`. A settings change swaps
the whole runtime on the host thread: the new one is in place at once (widgets use its context), the old one stops
(its jobs finish or are handed back), then the new one starts. Nothing is half-applied and no job runs under the
old context after the swap.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from memo_desktop.core.alerts import Alert
from memo_desktop.core.config import Settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError
from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.monitor import HealthSnapshot
from memo_desktop.core.pipeline.schedule_ticker import schedule_ticker_part
from memo_desktop.core.runtime import (ConnectionState, Runtime, RuntimeListener, RuntimePlan, StartReport,
                                       WorkerPlan)
from memo_desktop.core.threads import join_thread
from memo_desktop.ui.background import describe_error

log = logging.getLogger(__name__)

WORKER_STOP_TIMEOUT = 5.0  # s a running job may take to finish at shutdown before it is handed back
DASHBOARD_HOST = "127.0.0.1"  # the GUI's dashboard is for this machine only (`serve` can listen elsewhere)


def gui_plan(settings: Settings, on_alert: Callable[[str, Alert], None] | None = None) -> RuntimePlan:
    """What the desktop app runs: everything (this library's schedules too), waiting for services that are down,
    never giving up on them; the web dashboard on 127.0.0.1:`http_port` when that setting is not 0."""
    from memo_desktop.core.operations import operations_parts

    parts: tuple = ()
    web_redis_parts: tuple = ()
    if settings.http_port:
        from memo_desktop.web.server import web_parts

        parts, web_redis_parts = web_parts(DASHBOARD_HOST, settings.http_port)
    return RuntimePlan(workers=WorkerPlan() if settings.workers_in_app else None, requeue_local=True,
                       collect_results=True, watch=True, needs_store=True, wait_for_redis=True,
                       refused_is_fatal=False, opens_library=True, parts=parts,
                       redis_parts=(*web_redis_parts, *operations_parts(on_alert, deliver=settings.workers_in_app),
                                    schedule_ticker_part))


class _SignalListener(RuntimeListener):
    """Runs on runtime threads: only emits (Qt queues the calls to the GUI thread)."""

    def __init__(self, host: ServiceHost) -> None:
        self._host = host

    def connection_changed(self, state: ConnectionState) -> None:
        self._host.connection_changed.emit(state)

    def snapshot_taken(self, snapshot: HealthSnapshot) -> None:
        self._host.snapshot_taken.emit(snapshot)

    def job_events(self, events: Sequence[JobEvent]) -> None:
        self._host.job_events_received.emit(tuple(events))

    def library_changed(self) -> None:
        self._host.library_changed.emit()

    def problem(self, message: str) -> None:
        self._host.problem_reported.emit(message)


class ServiceHost(QObject):
    connection_changed = Signal(object)  # ConnectionState
    startup_finished = Signal(object)  # StartReport
    snapshot_taken = Signal(object)  # HealthSnapshot
    job_events_received = Signal(object)  # tuple[JobEvent, ...]
    library_changed = Signal()  # memos were added behind the GUI's back (recovery pass, results from elsewhere)
    problem_reported = Signal(str)
    settings_applied = Signal(object)  # Settings
    alert_changed = Signal(str, object)  # 'fired' or 'resolved', Alert
    shutdown_finished = Signal()

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._listener = _SignalListener(self)
        # a new runtime does no I/O (its context starts everything lazily), so the GUI can use its context at once
        self._runtime = Runtime(settings, self._plan(settings), self._listener)
        self._commands: queue.SimpleQueue[Callable[[], bool | None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="service-host", daemon=True)
        self._shutting_down = False

    def _plan(self, settings: Settings) -> RuntimePlan:
        return gui_plan(settings, on_alert=self.alert_changed.emit)

    # -- what the GUI thread may call (never blocks) ---------------------------------------------------------------
    @property
    def context(self) -> AppContext:
        return self._runtime.context

    @property
    def settings(self) -> Settings:
        return self._runtime.settings

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def start(self) -> None:
        self._thread.start()
        self._commands.put(self._start_runtime)

    def apply_settings(self, settings: Settings) -> None:
        """Swap to a new runtime with these settings (after they were saved)."""
        self._commands.put(lambda: self._apply_settings(settings))

    def refresh_snapshot(self) -> None:
        """Counts soon, e.g. after a user action (an in-memory request to the watcher)."""
        self._runtime.refresh()

    def shutdown(self, before: Sequence[Callable[[], object]] = ()) -> None:
        """Ordered, bounded shutdown: `before` steps (recording, deletions, playback), then the runtime."""
        if self._shutting_down:
            return
        self._shutting_down = True
        if not self._thread.is_alive():
            self._thread.start()
        self._commands.put(lambda: self._shutdown(before))

    def join(self, timeout: float = 5.0) -> bool:
        return join_thread(self._thread, timeout)

    # -- the host thread --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            command = self._commands.get()
            try:
                if command() is False:
                    return
            except Exception as exc:  # noqa: BLE001 - keep the host alive; the problem is shown to the user
                log.exception("service host step failed")
                self.problem_reported.emit(describe_error(exc))

    def _start_runtime(self) -> None:
        for service in ("redis", "store"):
            self.connection_changed.emit(ConnectionState(service, None, "starting…"))
        try:
            report = self._runtime.start()
        except MemoError as exc:  # a fatal setting (e.g. job_modules): the app keeps the library usable
            report = StartReport((), 0, 0, (str(exc),))
        for problem in report.problems:
            self.problem_reported.emit(problem)
        self.startup_finished.emit(report)

    def _apply_settings(self, settings: Settings) -> None:
        started = time.monotonic()
        old, self._runtime = self._runtime, Runtime(settings, self._plan(settings), self._listener)
        old.stop(worker_timeout=WORKER_STOP_TIMEOUT)
        self._start_runtime()
        log.info("settings applied in %.2f s", time.monotonic() - started)
        self.settings_applied.emit(settings)

    def _shutdown(self, before: Sequence[Callable[[], object]]) -> bool:
        for step in before:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - every later step must still run (bounded, ordered)
                log.exception("shutdown step failed")
                self.problem_reported.emit(describe_error(exc))
        self._runtime.stop(worker_timeout=WORKER_STOP_TIMEOUT)
        self.shutdown_finished.emit()
        return False
