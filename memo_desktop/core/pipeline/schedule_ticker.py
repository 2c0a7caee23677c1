"""The schedule ticker: a runtime part (GUI, headless worker, `serve`) that runs this device's schedules on time.

One thread. Each pass reads the device's schedules and their last claimed ticks (one round trip), and for every
schedule whose latest due tick is newer than both its last claimed tick and its creation, claims that tick in Redis
(exactly one process wins it) and runs the action. A process that was not running when ticks passed therefore runs
each schedule once for the latest of them ("catch-up"), never once per missed tick. It then sleeps until the next
tick of any schedule, at most `reload_seconds`, so schedules added elsewhere are seen soon.

    part = ScheduleTicker(runtime.context)    # or RuntimePlan(redis_parts=(schedule_ticker_part,))
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from croniter import CroniterError

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError
from memo_desktop.core.pipeline.scheduled_actions import device_schedules, run_schedule
from memo_desktop.core.queueing.schedules import Schedule
from memo_desktop.core.redis_errors import REDIS_FAILURES, translate
from memo_desktop.core.threads import join_thread, start_thread

log = logging.getLogger(__name__)

RELOAD_SECONDS = 5.0  # longest between two reads of the schedules
MIN_SLEEP = 0.05


class ScheduleTicker:
    name = "schedule ticker"

    def __init__(self, ctx: AppContext, reload_seconds: float = RELOAD_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._ctx = ctx
        self._store = device_schedules(ctx)
        self._reload = reload_seconds
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ScheduleTicker:
        self._thread = start_thread(self.run, "schedule-ticker")
        return self

    def stop(self, timeout: float) -> bool:
        self._stop.set()
        return join_thread(self._thread, timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                pause = self.tick()
            except (*REDIS_FAILURES, MemoError) as exc:  # Redis away: the supervisor says so; try again later
                log.debug("schedule ticker: %s", translate(exc) if not isinstance(exc, MemoError) else exc)
                pause = self._reload
            self._stop.wait(pause)

    def tick(self) -> float:
        """Run what is due now; returns the seconds until the next tick (at most `reload_seconds`)."""
        now = self._clock()
        schedules, ticks = self._store.schedules()
        upcoming = now + self._reload
        for schedule in schedules:
            if self._stop.is_set():
                break
            try:
                self._run_if_due(schedule, ticks.get(schedule.name), now)
                upcoming = min(upcoming, schedule.cron.next_after(now))
            except CroniterError as exc:  # validated when added; one that still cannot be iterated is skipped
                log.warning("schedule %s: %s", schedule.name, exc)
        return max(MIN_SLEEP, min(self._reload, upcoming - self._clock()))

    def _run_if_due(self, schedule: Schedule, last_tick: float | None, now: float) -> None:
        due = schedule.cron.latest_at_or_before(now)
        baseline = max(schedule.created_at, last_tick if last_tick is not None else float("-inf"))
        if due <= baseline or not self._store.claim(schedule.name, due):
            return
        missed = schedule.cron.latest_at_or_before(due - 0.001) > baseline  # an earlier tick passed unrun too
        run_schedule(self._ctx, schedule, "catch-up" if missed else "schedule", due, self._stop.is_set)


def schedule_ticker_part(runtime: object) -> ScheduleTicker:
    """The PartFactory for a RuntimePlan's `redis_parts`: a ticker over the runtime's context."""
    return ScheduleTicker(runtime.context)  # type: ignore[attr-defined]
