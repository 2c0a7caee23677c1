"""The Runtime: builds, owns and stops, in order, everything one process runs (see the package docstring)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from memo_desktop.core import redis_errors
from memo_desktop.core.config import Settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import (ConfigError, MemoError, RedisRefused, RuntimeClosed, ServiceError,
                                      StorageAuthError, StorageUnavailable)
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.events import EventHub
from memo_desktop.core.jobs.registry import load_job_modules
from memo_desktop.core.monitor import QueueWatcher
from memo_desktop.core.runtime.plan import (ConnectionState, Part, PartFactory, RuntimeListener, RuntimePlan,
                                            RuntimeState, StartReport, WorkerPlan)
from memo_desktop.core.runtime.supervisor import Chore, Link, Supervisor
from memo_desktop.core.secrets import mask_url
from memo_desktop.core.workers.gate import DependencyGate
from memo_desktop.core.workers.pool import WorkerPool

if TYPE_CHECKING:
    from memo_desktop.core.processing.collector import ResultCollector

log = logging.getLogger("memo_desktop.runtime")

REQUEUE_SECONDS = 15.0  # between passes that queue memos left without a live upload job
PART_STOP_SECONDS = 3.0  # what each part (watcher, collector, hub, supervisor) gets to stop
# errors that no amount of waiting fixes: the settings must change
_FATAL = (RedisRefused, ConfigError, ServiceError, StorageAuthError)


class Runtime:
    def __init__(self, settings: Settings, plan: RuntimePlan = RuntimePlan(),
                 listener: RuntimeListener | None = None) -> None:
        self.plan = plan
        self._context = AppContext(settings)
        self._listener = listener or RuntimeListener()
        self._state = RuntimeState.NEW
        self._lock = threading.RLock()
        self._finished = threading.Event()  # a fatal problem, or a burst pool that drained
        self.failure: MemoError | None = None
        self.pool: WorkerPool | None = None
        self.hub: EventHub | None = None
        self.watcher: QueueWatcher | None = None
        self._collector: ResultCollector | None = None
        self.parts: list[Part] = []  # the plan's own parts, in start order
        self.connections: dict[str, ConnectionState] = {}  # the latest state of each watched service
        self._supervisor: Supervisor | None = None
        self._redis_parts_started = False
        self._requeued = 0
        self._gate = DependencyGate(lambda exc: isinstance(exc, (StorageUnavailable, StorageAuthError)),
                                    on_failure=lambda exc: self._wake("store"))

    # -- what shells use ------------------------------------------------------------------------------------------
    @property
    def state(self) -> RuntimeState:
        return self._state

    @property
    def context(self) -> AppContext:
        if self._state is RuntimeState.CLOSED:
            raise RuntimeClosed("this runtime has stopped (the settings changed or the process is ending)")
        return self._context

    @property
    def settings(self) -> Settings:
        return self._context.settings

    @property
    def finished(self) -> bool:
        """True once the runtime cannot go on (see `failure`) or a burst pool has drained its queues."""
        return self._finished.is_set()

    def __enter__(self) -> Runtime:
        if self._state is RuntimeState.NEW:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StartReport:
        """Start the plan's parts (see the package docstring). Raises MemoError when it cannot run: a fatal problem
        (refused credentials, a bad setting, an embedded service that cannot start), or Redis or the store down
        for a plan that does not wait. Nothing is left running then."""
        with self._lock:
            if self._state is not RuntimeState.NEW:
                raise RuntimeClosed(f"a runtime starts once (this one is {self._state.value})")
            self._state = RuntimeState.RUNNING
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def wait(self, stop: threading.Event, poll: float = 0.5) -> None:
        """Block until `stop` is set, a fatal problem ends the runtime, or a burst pool has drained."""
        while not stop.wait(poll):
            if self._finished.is_set():
                return
            pool = self.pool
            if pool is not None and pool.burst and not pool.alive:
                self._finished.set()
                return

    def refresh(self) -> None:
        """New counts soon (after a user action)."""
        watcher = self.watcher
        if watcher is not None:
            watcher.refresh()

    def stop(self, worker_timeout: float = 5.0) -> bool:
        """Ordered and bounded: the supervisor, the workers (a job still running after `worker_timeout` s is handed
        back to its queue), the collector, the watcher, the event hub, then the services. Returns False when a job
        had to be handed back. Safe to call more than once; the runtime is closed after it."""
        with self._lock:
            if self._state in (RuntimeState.STOPPING, RuntimeState.CLOSED):
                return True
            self._state = RuntimeState.STOPPING
        finished = True
        if self._supervisor is not None:
            self._supervisor.stop(PART_STOP_SECONDS)
        for part in reversed(self.parts):
            try:
                part.stop(PART_STOP_SECONDS)
            except Exception:  # noqa: BLE001 - the next steps must still run
                log.exception("stopping %s failed", part.name)
        if self.pool is not None:
            try:
                finished = self.pool.stop(timeout=worker_timeout)
            except Exception as exc:  # noqa: BLE001 - the next steps must still run; the job re-runs later
                log.exception("stopping the workers failed")
                self._listener.problem(f"stopping the workers: {exc}")
        for part in (self._collector, self.watcher, self.hub):
            if part is not None:
                part.stop(PART_STOP_SECONDS)
        try:
            self._context.close()
        except Exception as exc:  # noqa: BLE001 - report it; the process is ending anyway
            log.exception("stopping the services failed")
            self._listener.problem(f"stopping the services: {exc}")
        self._state = RuntimeState.CLOSED
        return finished

    # -- start ------------------------------------------------------------------------------------------------------
    def _start(self) -> StartReport:
        plan, ctx = self.plan, self._context
        problems: list[str] = []
        if plan.workers is not None:
            load_job_modules(ctx.settings.job_modules)  # a bad 'job_modules' setting fails here, before any wait
        if plan.uses_library and ctx.open_library():  # opening it recovers interrupted recordings
            self._listener.library_changed()
        for factory in plan.parts:
            try:
                self._start_part(factory)
            except MemoError as exc:  # e.g. the dashboard's port is taken: headless, that ends the start
                if plan.refused_is_fatal:
                    raise
                self._give_up(exc, str(exc))  # the GUI reports it and runs everything else
        links: list[Link] = []
        if plan.needs_store:  # before Redis: the pool must not take a job before the gate knows the store
            links.append(Link("store", self._probe_store, self._on_store_change))
        if plan.needs_redis:
            links.append(Link("redis", self._probe_redis, self._on_redis_change))
        for link in links:
            self._first_check(link, problems)
        if links:
            chores = [Chore("re-queueing pending uploads", self._requeue, REQUEUE_SECONDS,
                            when=lambda: self._redis_parts_started)] if plan.requeue_local else []
            self._supervisor = Supervisor(links, chores).start()
        workers = self.pool.concurrency if self.pool is not None else 0
        recovered = tuple(memo.title for _, memo in ctx.recovered)
        return StartReport(recovered, self._requeued, workers, tuple(problems))

    def _first_check(self, link: Link, problems: list[str]) -> None:
        """The first probe, on the starting thread: a fatal answer (or any failure, for a plan that does not wait)
        ends the start; otherwise the supervisor keeps trying."""
        link.check(time.monotonic())
        if self.failure is not None:  # a part that the answer started could not start
            raise self.failure
        if link.up or link.error is None:
            return
        if (isinstance(link.error, _FATAL) and self.plan.refused_is_fatal) or not self.plan.wait_for_redis:
            raise link.error
        problems.append(str(link.error))

    # -- Redis --------------------------------------------------------------------------------------------------------
    def _probe_redis(self) -> str:
        ctx = self._context
        url = ctx.redis_url  # starts (or reuses) the embedded server; ServiceError when it cannot
        try:
            redis_errors.ping(ctx.redis)
        except RedisRefused:
            raise
        except MemoError:
            if not ctx.uses_embedded_redis:
                raise
            ctx.redis_server.ensure_running()  # the embedded server died: bring it back (same socket)
            redis_errors.ping(ctx.redis)
        return mask_url(url)

    def _on_redis_change(self, up: bool, detail: str, error: MemoError | None) -> None:
        self._report_link("redis", up, detail)
        if up:
            if self._start_redis_parts():
                return  # the first time: the parts' start did the catching up
            if self.plan.requeue_local:
                self._requeue()  # DESIGN: when Redis comes back, memos without a live job are queued again
        else:
            self._fail_if_fatal(error)

    def _start_redis_parts(self) -> bool:
        """The parts that need Redis, once (at start, or when Redis first answers); True if they started now."""
        with self._lock:
            if self._redis_parts_started or self._state is not RuntimeState.RUNNING:
                return False
            self._redis_parts_started = True
            plan, ctx = self.plan, self._context
            self.hub = EventHub(ctx.redis).start()
            if plan.requeue_local:
                self._requeue()
            if plan.workers is not None:
                try:
                    self.pool = self._start_pool(plan.workers)
                except MemoError as exc:  # e.g. a 'transcribe_model' that names no model
                    self._give_up(exc, f"the workers could not start: {exc}")
            if plan.collect_results:
                from memo_desktop.core.processing.collector import ResultCollector  # numpy & co: only when needed

                self._collector = ResultCollector(ctx, self.hub, on_collected=self._listener.library_changed).start()
            if plan.watch:
                self.watcher = QueueWatcher(ctx.redis, self.hub, ctx.queue_names(),
                                            on_snapshot=self._listener.snapshot_taken,
                                            on_events=self._listener.job_events).start()
            for factory in plan.redis_parts:
                try:
                    self._start_part(factory)
                except MemoError as exc:
                    self._give_up(exc, str(exc))
            return True

    def _start_part(self, factory: PartFactory) -> None:
        part = factory(self)
        part.start()
        self.parts.append(part)

    def _start_pool(self, workers: WorkerPlan) -> WorkerPool:
        return start_worker_pool(self._context, workers, self._gate)

    def _requeue(self) -> None:
        from memo_desktop.core.pipeline import requeue_pending

        queued = requeue_pending(self._context)
        self._requeued += len(queued)
        if queued:
            self._listener.library_changed()

    # -- the object store ---------------------------------------------------------------------------------------------
    def _probe_store(self) -> str:
        ctx = self._context
        store = ctx.object_store  # starts (or reuses) the embedded server
        try:
            store.check()
        except StorageAuthError:
            raise
        except MemoError:
            if not ctx.uses_embedded_store:
                raise
            ctx.object_store_server.ensure_running()
            store.check()
        return store.url

    def _on_store_change(self, up: bool, detail: str, error: MemoError | None) -> None:
        self._report_link("store", up, detail)
        if up:
            self._gate.open()
            return
        self._gate.close(detail)
        self._fail_if_fatal(error)

    # -- helpers ------------------------------------------------------------------------------------------------------
    def _report_link(self, service: str, up: bool, detail: str) -> None:
        log.info("%s %s: %s", service, "up" if up else "down", detail)
        state = ConnectionState(service, up, detail)
        self.connections[service] = state
        self._listener.connection_changed(state)

    def _wake(self, service: str) -> None:
        if self._supervisor is not None:
            self._supervisor.wake(service)

    def _fail_if_fatal(self, error: MemoError | None) -> None:
        """A refusal noticed while running (the first probe's is raised by start) ends a headless runtime."""
        if error is None or not isinstance(error, _FATAL) or not self.plan.refused_is_fatal:
            return
        if self._supervisor is None or self._state is not RuntimeState.RUNNING:
            return
        self._give_up(error, str(error))

    def _give_up(self, error: MemoError, message: str) -> None:
        """A headless runtime ends on it (the shell says why); a GUI's reports it and goes on without the part."""
        if self.plan.refused_is_fatal:
            self.failure = error
            self._finished.set()
        else:
            self._listener.problem(message)


def start_worker_pool(ctx: AppContext, workers: WorkerPlan, gate: DependencyGate | None = None) -> WorkerPool:
    """A started pool whose jobs run against `ctx`: the runtime's part (tests of pools use it on its own).

    A 'job_modules' or 'transcribe_model' setting that names nothing usable is a ConfigError here, before any job
    fails on it."""
    load_job_modules(ctx.settings.job_modules)
    if QueueKind.PROCESS in workers.kinds:
        from memo_desktop.core.transcribe.setup import check_transcription_setup

        log.info(check_transcription_setup(ctx.settings).describe())
    return WorkerPool(ctx, ctx.queue_names(workers.kinds), concurrency=workers.concurrency, name=workers.name,
                      burst=workers.burst, gate=gate).start()
