"""A thread that keeps a UI up to date: job events as they happen, and counts after every burst of events.

Events arrive from the process's EventHub (on its thread) and are queued; the watcher thread hands them on in
batches (one call per burst, not one per event) and re-reads the counts at most every `min_interval` s, or every
`poll_interval` s when nothing happens (to notice other machines' activity and Redis coming back). Callbacks run on the watcher thread:
a UI forwards them to its own thread (Qt signals carrying these immutable values).
"""

from __future__ import annotations

import logging
import queue as queue_module
import threading
import time
from typing import Callable

import redis

from memo_desktop.core.jobs.events import EventHub, JobEvent
from memo_desktop.core.monitor.snapshot import HealthSnapshot, read_health
from memo_desktop.core.threads import join_thread

log = logging.getLogger(__name__)


class QueueWatcher:
    def __init__(self, connection: redis.Redis, hub: EventHub, local_queue_names: list[str],
                 on_snapshot: Callable[[HealthSnapshot], None],
                 on_events: Callable[[list[JobEvent]], None] | None = None,
                 poll_interval: float = 2.0, min_interval: float = 0.1, name: str = "queue-watcher") -> None:
        self._connection = connection
        self._hub = hub
        self._local_names = local_queue_names
        self._on_snapshot = on_snapshot
        self._on_events = on_events or (lambda events: None)
        self._poll_interval = poll_interval
        self._min_interval = min_interval
        self._name = name
        self._inbox: queue_module.SimpleQueue[JobEvent | None] = queue_module.SimpleQueue()
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> QueueWatcher:
        self._unsubscribe = self._hub.subscribe(self._inbox.put)
        self._thread = threading.Thread(target=self.run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def refresh(self) -> None:
        """Ask for a fresh snapshot soon (after a user action)."""
        self._inbox.put(None)

    def stop(self, timeout: float = 3.0) -> bool:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._inbox.put(None)
        return join_thread(self._thread, timeout)

    def run(self) -> None:
        last_snapshot = 0.0
        while not self._stop.is_set():
            batch = self._drain(timeout=self._poll_interval if last_snapshot else 0)
            if self._stop.is_set():
                break
            events = [e for e in batch if e is not None]
            if events:
                self._on_events(events)
            wait = self._min_interval - (time.monotonic() - last_snapshot)
            if wait > 0 and batch:
                self._stop.wait(wait)  # coalesce a burst of events into one count refresh
                more = [e for e in self._drain(timeout=0) if e is not None]
                if more:
                    self._on_events(more)
            self._on_snapshot(read_health(self._connection, self._local_names))
            last_snapshot = time.monotonic()

    def _drain(self, timeout: float) -> list[JobEvent | None]:
        items: list[JobEvent | None] = []
        try:
            items.append(self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait())
        except queue_module.Empty:
            return items
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue_module.Empty:
                return items
