"""How long each audio callback took, kept in a preallocated array (the callback must not allocate)."""

from __future__ import annotations

import numpy as np


class CallbackTimings:
    """The durations of the last `capacity` callbacks, in nanoseconds; written by the callback only."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._durations = np.zeros(capacity, dtype=np.int64)
        self._starts = np.zeros(capacity, dtype=np.int64)  # when each callback began: gaps show scheduling delays
        self.count = 0
        self.total_ns = 0  # over every callback, also those no longer kept

    def record(self, start_ns: int, end_ns: int) -> None:
        slot = self.count % len(self._durations)
        self._durations[slot] = end_ns - start_ns
        self._starts[slot] = start_ns
        self.total_ns += end_ns - start_ns
        self.count += 1

    def durations_ns(self) -> np.ndarray:
        """A copy of the kept durations (oldest first is not guaranteed once the array has wrapped)."""
        return self._durations[: min(self.count, len(self._durations))].copy()

    def intervals_ns(self) -> np.ndarray:
        """Gaps between consecutive callback starts (chronological while the array has not wrapped)."""
        kept = min(self.count, len(self._starts))
        return np.diff(np.sort(self._starts[:kept]))

    @property
    def total_seconds(self) -> float:
        return self.total_ns / 1e9
