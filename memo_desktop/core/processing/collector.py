"""Results of `file-process` jobs that workers elsewhere computed for memos that live here, taken into the library.

As such jobs complete (job events), and once at start from the recent history (what retention keeps), each result
goes through `pick_up_result`, which is idempotent and ignores memos that do not live here. The work (it may
download a transcript or a variant) runs on the collector's own thread, never on the event thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import redis
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError
from memo_desktop.core.jobs.client import kind_of_queue_safe
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.events import EventSubscriber, JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.processing.pickup import pick_up_result

log = logging.getLogger(__name__)


class ResultCollector:
    def __init__(self, ctx: AppContext, on_collected: Callable[[], object] | None = None) -> None:
        """`on_collected` is called (on the collector's thread) after a result changed this library."""
        self._ctx = ctx
        self._on_collected = on_collected or (lambda: None)
        self._inbox: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._subscriber = EventSubscriber(ctx.redis, self._on_event, name="result-collector-events")
        self._thread = threading.Thread(target=self.run, name="result-collector", daemon=True)

    def start(self) -> ResultCollector:
        self._subscriber.start()
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._subscriber.stop(timeout)
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _on_event(self, event: JobEvent) -> None:
        if event.state == JobState.COMPLETED.value and kind_of_queue_safe(event.queue) is QueueKind.PROCESS:
            self._inbox.put(event.job_id)

    def run(self) -> None:
        self.catch_up()
        while (job_id := self._inbox.get()) is not None:
            self.collect(job_id)

    def catch_up(self) -> None:
        """Results completed while this process was not running."""
        registry = FinishedJobRegistry(QueueKind.PROCESS.value, connection=self._ctx.redis, serializer=JSONSerializer)
        try:
            job_ids = registry.get_job_ids(cleanup=False)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
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
