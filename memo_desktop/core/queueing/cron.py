"""Cron expressions in local time, parsed and iterated by croniter (rq 3.0 depends on it already).

Five fields, `m h dom mon dow` as in crontab(5); an optional sixth field is seconds (croniter's convention), for
schedules that fire more often than once a minute. Times are epoch seconds; the fields match the machine's local
time, daylight-saving changes included: a time the clock skips (spring forward) fires just after the change, shifted
by the gap (02:30 becomes 03:30 that day), and a time that happens twice (fall back) fires once, at its first
occurrence.

Why not rq's CronScheduler (3.0, beta): it keeps its jobs in the memory of each process that runs it (every process
enqueues its own copy of a tick), catches up no missed tick, and uses pickle by default. Schedules here live in Redis,
are claimed once per tick by one process, and catch up (see `schedules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from memo_desktop.core.errors import PayloadError

_SEARCH_STEPS = 8  # candidates tried around a clock change before giving up on one search


@dataclass(frozen=True)
class CronSchedule:
    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """A valid expression, normalised; PayloadError naming it otherwise (also for one that never fires)."""
        fields = str(expression).split()
        text = " ".join(fields)
        if len(fields) not in (5, 6):
            raise PayloadError(f"invalid cron expression '{expression}': expected 5 fields (minute hour day-of-month "
                               f"month day-of-week) and optionally a sixth for seconds, got {len(fields)}")
        try:
            valid = croniter.is_valid(text)
        except (CroniterBadCronError, ValueError, TypeError):
            valid = False
        if not valid:
            raise PayloadError(f"invalid cron expression '{expression}': a field is out of range or not cron syntax")
        schedule = cls(text)
        try:
            schedule.next_after(datetime.now().timestamp())
        except CroniterBadDateError:
            raise PayloadError(f"invalid cron expression '{expression}': it never fires") from None
        return schedule

    def next_after(self, moment: float) -> float:
        """The first time after `moment` (epoch s) that the expression matches, in local time."""
        it = croniter(self.expression, datetime.fromtimestamp(moment))
        for _ in range(_SEARCH_STEPS):
            candidate = it.get_next(datetime).timestamp()  # a naive local time: DST-aware via the C library
            if candidate > moment:
                return candidate
        raise CroniterBadDateError(f"no time after {moment} matches {self.expression!r}")

    def latest_at_or_before(self, moment: float) -> float:
        """The last time at or before `moment` that the expression matches (the tick that is due now)."""
        it = croniter(self.expression, datetime.fromtimestamp(moment + 0.001))
        for _ in range(_SEARCH_STEPS):
            candidate = it.get_prev(datetime).timestamp()
            if candidate <= moment:
                return candidate
        raise CroniterBadDateError(f"no time before {moment} matches {self.expression!r}")
