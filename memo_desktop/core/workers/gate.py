"""A pool's dependency gate: workers take a job only while it is open.

The runtime's supervisor closes it while a dependency the jobs need (the object store) is down, and opens it when
the dependency answers again. A job that failed *because* of the dependency reports it here, so the jobs behind it
wait instead of failing the same way one after another (each failure would cost an attempt). Redis needs no gate:
without Redis no job can be taken anyway.
"""

from __future__ import annotations

import threading
from typing import Callable


class DependencyGate:
    def __init__(self, is_dependency_failure: Callable[[BaseException], bool] = lambda exc: False,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        """`is_dependency_failure(exc)` says whether a job's error means the dependency is down; `on_failure(exc)`
        is then called (on the worker's thread) so the owner can probe the dependency at once."""
        self._is_dependency_failure = is_dependency_failure
        self._on_failure = on_failure or (lambda exc: None)
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self.reason = ""

    def is_open(self) -> bool:
        return self._open.is_set()

    def wait_open(self, stop: threading.Event, timeout: float) -> bool:
        """Wait up to `timeout` s for the gate to open (returns early when `stop` is set); True if open."""
        step = min(0.1, timeout)
        waited = 0.0
        while not self._open.is_set() and not stop.is_set() and waited < timeout:
            self._open.wait(step)
            waited += step
        return self._open.is_set()

    def close(self, reason: str) -> None:
        with self._lock:
            self.reason = reason
            self._open.clear()

    def open(self) -> None:
        with self._lock:
            self.reason = ""
            self._open.set()

    def report(self, exc: BaseException) -> None:
        """A job failed with `exc`: if that is the dependency's failure, close the gate and tell the owner."""
        if self._is_dependency_failure(exc):
            self.close(str(exc))
            self._on_failure(exc)
