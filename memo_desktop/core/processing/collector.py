"""Results of `file-process` jobs that workers elsewhere computed for memos that live here, taken into the library.

As such jobs complete (job events from the process's EventHub), and at start and after every lost subscription from
the recent history (what retention keeps), each result goes through `pick_up_result`, which is idempotent and
ignores memos that do not live here. The work (it may download a transcript or a variant) runs on the collector's
own thread, never on the event thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError
from memo_desktop.core.jobs.client import kind_of_queue_safe
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.events import EventHub, JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.processing.pickup import pick_up_result
from memo_desktop.core.redis_errors import REDIS_FAILURES
from memo_desktop.core.threads import join_thread

log = logging.getLogger(__name__)


_CATCH_UP = ""  # inbox marker: read the recent history again (a job id is never empty)


class ResultCollector:
    def __init__(self, ctx: AppContext, hub: EventHub, on_collected: Callable[[], object] | None = None) -> None:
        """`on_collected` is called (on the collector's thread) after a result changed this library."""
        self._ctx = ctx
        self._hub = hub
        self._on_collected = on_collected or (lambda: None)
        self._inbox: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ResultCollector:
        self._unsubscribe = self._hub.subscribe(self._on_event, self._on_connection)
        self._thread = threading.Thread(target=self.run, name="result-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._inbox.put(None)
        return join_thread(self._thread, timeout)

    def _on_event(self, event: JobEvent) -> None:
        if event.state == JobState.COMPLETED.value and kind_of_queue_safe(event.queue) is QueueKind.PROCESS:
            self._inbox.put(event.job_id)

    def _on_connection(self, connected: bool) -> None:
        if connected:  # events published while the subscription was down were missed
            self._inbox.put(_CATCH_UP)

    def run(self) -> None:
        self.catch_up()
        while (job_id := self._inbox.get()) is not None:
            if job_id == _CATCH_UP:
                self.catch_up()
            else:
                self.collect(job_id)

    def catch_up(self) -> None:
        """Results completed while this process was not running (or not listening)."""
        registry = FinishedJobRegistry(QueueKind.PROCESS.value, connection=self._ctx.redis, serializer=JSONSerializer)
        try:
            job_ids = registry.get_job_ids(cleanup=False)
        except REDIS_FAILURES as exc:
            log.warning("cannot catch up on processing results: %s", exc)
            return
        for job_id in job_ids:
            self.collect(job_id)

    def collect(self, job_id: str) -> bool:
        """Apply one completed job's result here; True when it concerned a memo of this library."""
        try:
            info = self._ctx.jobs.status(job_id)
            if info.state is not JobState.COMPLETED or not isinstance(info.result, dict):
                return False
            collected = pick_up_result(self._ctx, info.result)
        except MemoError as exc:
            log.warning("could not take in the result of job %s: %s", job_id, exc)
            return False
        if collected:
            self._on_collected()
        return collected
