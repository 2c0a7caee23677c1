"""The one way the GUI runs blocking work (Redis, S3, SQLite, disk, PortAudio): a small thread pool whose results
come back to the GUI thread as Qt signals.

    runner.submit(library.list, "budget", key="memo-list", on_result=model.set_memos)

- `on_result(value)` and `on_error(exc)` run on the GUI thread (a queued signal delivers them), never on the pool.
- `key`: "latest wins". When a newer task with the same key was submitted, an older task's result is dropped, so a
  burst of refreshes (typing in a search box, a burst of job events) can never paint stale data over fresh data.
- An error without an `on_error` handler is re-emitted as `task_failed(message)`, which the main window shows:
  background errors are never swallowed.
- `owner`: a widget the handlers belong to (a dialog); if it has been deleted by the time the result arrives, the
  handlers are skipped instead of touching a dead widget.
- `wait_for_done(timeout)` is for the shutdown sequence (it blocks, so it is called from the service host thread).
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from memo_desktop.core.errors import MemoError

log = logging.getLogger(__name__)

ResultHandler = Callable[[Any], None]
ErrorHandler = Callable[[BaseException], None]


def describe_error(exc: BaseException) -> str:
    """A message for the user: our own errors are written for people; anything else names its type."""
    if isinstance(exc, MemoError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


class _Relay(QObject):
    """Lives on the GUI thread; pool threads emit on it, Qt queues the call to the GUI thread."""

    task_succeeded = Signal(int, object)
    task_errored = Signal(int, object)


class _Task(QRunnable):
    def __init__(self, token: int, relay: _Relay, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._token, self._relay, self._fn, self._args, self._kwargs = token, relay, fn, args, kwargs

    def run(self) -> None:
        try:
            value = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # noqa: BLE001 - the boundary of every background task: handed on, never lost
            if not isinstance(exc, MemoError):
                log.exception("background task %s failed", getattr(self._fn, "__qualname__", self._fn))
            self._relay.task_errored.emit(self._token, exc)
            return
        self._relay.task_succeeded.emit(self._token, value)


class BackgroundRunner(QObject):
    task_failed = Signal(str)  # an error nobody handled, ready to show

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # A private pool: QThreadPool.globalInstance() is shared with Qt internals and has no clear owner.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._pool.setExpiryTimeout(2000)
        self._relay = _Relay(self)
        self._relay.task_succeeded.connect(self._on_relay_task_succeeded)
        self._relay.task_errored.connect(self._on_relay_task_errored)
        self._tokens = itertools.count(1)
        self._handlers: dict[int, tuple[str | None, ResultHandler | None, ErrorHandler | None, QObject | None]] = {}
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()  # submit() may be called from a non-GUI thread (e.g. the service host)
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any, on_result: ResultHandler | None = None,
               on_error: ErrorHandler | None = None, key: str | None = None, owner: QObject | None = None,
               **kwargs: Any) -> int:
        """Run `fn(*args, **kwargs)` on the pool; returns a token (0: refused, the app is shutting down)."""
        with self._lock:
            if self._closed:
                # not an error: a late refresh during shutdown; the data it would show is going away with the window
                log.debug("refused %s: shutting down", getattr(fn, "__qualname__", fn))
                return 0
            token = next(self._tokens)
            self._handlers[token] = (key, on_result, on_error, owner)
            if key is not None:
                self._latest[key] = token
        self._pool.start(_Task(token, self._relay, fn, args, kwargs))
        return token

    @property
    def active_count(self) -> int:
        """Tasks submitted whose result has not been delivered yet."""
        with self._lock:
            return len(self._handlers)

    def close(self) -> None:
        """Refuse new tasks (the shutdown sequence then waits for the running ones)."""
        with self._lock:
            self._closed = True

    def wait_for_done(self, timeout: float) -> bool:
        """Block until every started task has finished (not necessarily delivered); False on timeout."""
        return self._pool.waitForDone(int(timeout * 1000))

    # -- results, on the GUI thread ---------------------------------------------------------------------------------
    def _take(self, token: int) -> tuple[bool, ResultHandler | None, ErrorHandler | None]:
        with self._lock:
            key, on_result, on_error, owner = self._handlers.pop(token, (None, None, None, None))
            stale = key is not None and self._latest.get(key) != token
            if key is not None and not stale:
                del self._latest[key]
        if owner is not None and not shiboken6.isValid(owner):
            return True, None, None  # the widget that asked is gone (e.g. a closed dialog)
        return stale, on_result, on_error

    def _on_relay_task_succeeded(self, token: int, value: Any) -> None:
        stale, on_result, _ = self._take(token)
        if not stale and on_result is not None:
            on_result(value)

    def _on_relay_task_errored(self, token: int, exc: BaseException) -> None:
        _, _, on_error = self._take(token)  # errors are delivered even when stale: a failure is news
        if on_error is not None:
            on_error(exc)
        else:
            self.task_failed.emit(describe_error(exc))
