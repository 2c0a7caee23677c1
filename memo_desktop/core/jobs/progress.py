"""Job progress 0-100, kept in the job's meta (readable by any client) and published as an event."""

from __future__ import annotations

import time

from rq import get_current_job

from memo_desktop.core.jobs import events
from memo_desktop.core.jobs.states import JobState

PROGRESS_KEY = "progress"
MIN_INTERVAL = 0.1  # seconds between two stored updates of one job, so a fast loop cannot flood Redis


class ProgressReporter:
    """Report a running job's progress; cheap to call often (writes only when the whole percent changes)."""

    def __init__(self) -> None:
        self._job = get_current_job()
        self._last_value = -1
        self._last_time = 0.0

    def __call__(self, percent: float) -> None:
        if self._job is None or getattr(self._job, "handed_back", False):
            return
        value = max(0, min(100, int(percent)))
        now = time.monotonic()
        if value == self._last_value or (value < 100 and now - self._last_time < MIN_INTERVAL):
            return
        self._last_value, self._last_time = value, now
        self._job.meta[PROGRESS_KEY] = value
        self._job.save_meta()
        events.publish(self._job.connection, self._job.id, self._job.origin, JobState.ACTIVE, value)

    def fraction(self, done: int, total: int) -> None:
        self(100.0 * done / total if total else 100.0)
