"""The runtime's supervisor: one thread that knows whether Redis and the object store answer, and runs the
runtime's periodic chores.

Each watched service is a `Link`: probed every few seconds while up, with capped exponential backoff while down.
A change of state is reported once (one log line, one listener call), never once per retry. Chores (re-queueing
local memos, ...) run at their own intervals while Redis is up. `wake()` makes the next probe happen now (a job
just failed on the store). Everything here is driven by `run_once()`, which tests call directly.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from memo_desktop.core.errors import MemoError
from memo_desktop.core.threads import join_thread

log = logging.getLogger("memo_desktop.runtime")

CHECK_SECONDS = 2.0  # between probes of a service that answers
RETRY_MIN_SECONDS = 0.5  # first retry of a service that does not
RETRY_MAX_SECONDS = 30.0  # the cap of the backoff


@dataclass
class Link:
    """One watched service: `probe()` returns its address or raises MemoError; `on_change(up, detail, error)` is
    called when the answer changes (on the supervisor's thread)."""

    service: str
    probe: Callable[[], str]
    on_change: Callable[[bool, str, MemoError | None], None]
    up: bool | None = None
    detail: str = ""
    error: MemoError | None = None
    next_check: float = 0.0
    delay: float = RETRY_MIN_SECONDS

    def check(self, now: float) -> None:
        try:
            address = self.probe()
        except MemoError as exc:
            # a change of state is up/down or a different kind of failure (refused vs unreachable), not a new
            # wording of the same one (the error text of one outage varies from retry to retry)
            changed = self.up is not False or type(exc) is not type(self.error)
            self.up, self.detail, self.error = False, str(exc), exc
            self.next_check = now + self.delay
            self.delay = min(self.delay * 2, RETRY_MAX_SECONDS)
            if changed:
                self.on_change(False, self.detail, exc)
            return
        changed = self.up is not True
        self.up, self.detail, self.error = True, address, None
        self.next_check = now + CHECK_SECONDS
        self.delay = RETRY_MIN_SECONDS
        if changed:
            self.on_change(True, address, None)


@dataclass
class Chore:
    name: str
    run: Callable[[], None]
    interval: float
    when: Callable[[], bool] = lambda: True  # e.g. only while Redis is up
    next_run: float = field(default=0.0)


class Supervisor:
    def __init__(self, links: list[Link], chores: list[Chore], name: str = "runtime-supervisor") -> None:
        self.links = {link.service: link for link in links}
        self.chores = chores
        self._name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Supervisor:
        now = time.monotonic()
        for chore in self.chores:  # the start itself did each chore once already
            chore.next_run = now + chore.interval
        self._thread = threading.Thread(target=self.run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def wake(self, service: str | None = None) -> None:
        """Probe `service` (or every service) now instead of at its next turn."""
        for link in self.links.values():
            if service is None or link.service == service:
                link.next_check = 0.0
        self._wake.set()

    def stop(self, timeout: float = 3.0) -> bool:
        self._stop.set()
        self._wake.set()
        return join_thread(self._thread, timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            pause = self.run_once(time.monotonic())
            self._wake.wait(pause)
            self._wake.clear()

    def run_once(self, now: float) -> float:
        """Probe the services that are due and run the chores that are due; returns the seconds until the next."""
        for link in self.links.values():
            if now >= link.next_check and not self._stop.is_set():
                try:
                    link.check(now)
                except Exception:  # noqa: BLE001 - a bug in a reaction to a change is logged; watching goes on
                    log.exception("reacting to a change of %s failed", link.service)
        for chore in self.chores:
            if now < chore.next_run or self._stop.is_set():
                continue
            chore.next_run = now + chore.interval
            if chore.when():
                try:
                    chore.run()
                except MemoError as exc:
                    log.warning("%s: %s", chore.name, exc)
                except Exception:  # noqa: BLE001 - a chore's bug is logged; the supervisor must go on
                    log.exception("%s failed", chore.name)
        deadlines = [link.next_check for link in self.links.values()] + [c.next_run for c in self.chores]
        return max(0.05, min(deadlines, default=now + CHECK_SECONDS) - time.monotonic())
