"""How long a running job has left, estimated from its progress over time (no Qt: any view, and the tests, use it).

A job's progress arrives as (percent, time) observations, e.g. from job events. The rate is the progress made
since the first observation divided by the time it took, so a slow start (the download before a transcription)
or an uneven step (the batched pipeline reports once per batch) averages out instead of making the estimate jump.
Between observations the estimate counts down. No estimate until the job has run `MIN_SECONDS` and progressed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState

MIN_SECONDS = 1.0  # less than this since the first observation: too little to extrapolate from
MIN_PROGRESS = 1.0  # percent


@dataclass(frozen=True)
class _Track:
    first_percent: float
    first_at: float
    percent: float
    at: float


class ProgressEta:
    """Remaining-time estimates for many jobs by id. Thread-safe; memory is one small record per running job."""

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self._lock = threading.Lock()

    def observe(self, job_id: str, percent: float, at: float) -> float | None:
        """Record that `job_id` was at `percent` (0-100) at time `at` (seconds); returns the estimate then.
        A percent lower than the last one (the job started again) starts a new track."""
        with self._lock:
            track = self._tracks.get(job_id)
            if track is None or percent < track.percent or at < track.at:
                track = _Track(percent, at, percent, at)
            else:
                track = _Track(track.first_percent, track.first_at, percent, at)
            self._tracks[job_id] = track
        return self.seconds_left(job_id, at)

    def follow(self, event: JobEvent) -> float | None:
        """A job event: a running job's progress is observed (the estimate is returned), any other state ends its
        track (None)."""
        if event.state == JobState.ACTIVE.value:
            return self.observe(event.job_id, event.progress, event.timestamp or time.time())
        self.forget(event.job_id)
        return None

    def seconds_left(self, job_id: str, now: float) -> float | None:
        """Seconds until `job_id` reaches 100 % at its average rate so far, counted down to `now`; None when there is
        nothing to go on yet (unknown job, too short, no progress)."""
        with self._lock:
            track = self._tracks.get(job_id)
        if track is None:
            return None
        elapsed = track.at - track.first_at
        progressed = track.percent - track.first_percent
        if elapsed < MIN_SECONDS or progressed < MIN_PROGRESS:
            return None
        remaining = (100.0 - track.percent) * elapsed / progressed
        return max(0.0, remaining - max(0.0, now - track.at))

    def forget(self, job_id: str) -> None:
        """The job ended (or left the view): drop its track."""
        with self._lock:
            self._tracks.pop(job_id, None)

    def __len__(self) -> int:
        return len(self._tracks)
