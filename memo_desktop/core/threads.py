"""Threads with an owner: named when started, joined with a bound when stopped, a join that times out logged.

Every thread of the app is a daemon: stopping is ordered and bounded, and a thread stuck in a C call (a socket read,
a codec) must not keep a closed app's process alive. Being a daemon is never an excuse not to join: the owner joins
every thread it started, and the tests fail on any thread (daemon or not) left running.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)


def start_thread(target: Callable[..., Any], name: str, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def join_thread(thread: threading.Thread | None, timeout: float) -> bool:
    """Join `thread` for up to `timeout` s; False (and a warning naming it) if it is still running."""
    if thread is None or thread is threading.current_thread() or thread.ident is None:
        return True
    thread.join(max(0.0, timeout))
    if thread.is_alive():
        log.warning("thread %s did not stop within %.1f s", thread.name, timeout)
        return False
    return True


def join_threads(threads: Iterable[threading.Thread | None], timeout: float) -> bool:
    """Join several threads against one deadline; True when all ended."""
    deadline = time.monotonic() + timeout
    results = [join_thread(thread, deadline - time.monotonic()) for thread in threads]
    return all(results)
