"""Live input level (peak and RMS in dBFS), computed in the audio callback and read from any thread.

The callback must not allocate much or wait on a lock, so the meter reuses one scratch buffer and publishes the
result as a single tuple assignment: under the GIL that rebinding is atomic, so a reader on another thread sees
either the previous block's level or this one's, never half of each, without any lock.

numpy releases the GIL for loops over more than 500 elements; in a callback that is a trap, because getting it
back waits behind any busy Python thread for up to the switch interval (5 ms; 5-10 ms measured with one spinning
thread). So the meter works in slices of at most GIL_SAFE_ELEMENTS: a few more calls, no waits.

dBFS here is relative to a full-scale amplitude of 1.0 (int16: 32768): a sine peaking at -6 dBFS has an RMS of
about -9 dBFS. Digital silence reads SILENCE_DBFS rather than minus infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SILENCE_DBFS = -120.0
GIL_SAFE_ELEMENTS = 480  # below numpy's 500-element threshold for releasing the GIL
_INT16_FULL_SCALE = 32768.0


@dataclass(frozen=True)
class Level:
    peak_dbfs: float
    rms_dbfs: float


SILENT = Level(SILENCE_DBFS, SILENCE_DBFS)


def amplitude_to_dbfs(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else SILENCE_DBFS


def power_to_dbfs(mean_square: float) -> float:
    return 10.0 * math.log10(mean_square) if mean_square > 0 else SILENCE_DBFS


class LevelMeter:
    """Peak and RMS of the most recent int16 block; `update` runs in the audio callback, `level` anywhere."""

    def __init__(self, max_samples: int) -> None:
        self._scratch = np.empty(max_samples, dtype=np.float32)
        self._latest: tuple[float, float] = (SILENCE_DBFS, SILENCE_DBFS)

    def update(self, block: np.ndarray) -> None:
        samples = block.reshape(-1)
        count = samples.size
        if count == 0:
            return
        sum_squares = 0.0
        high = low = 0
        for start in range(0, count, GIL_SAFE_ELEMENTS):
            part = samples[start : start + GIL_SAFE_ELEMENTS]
            scratch = self._scratch[start : start + part.size]
            np.copyto(scratch, part)  # int16 -> float32: sums of squares of int16 would overflow
            sum_squares += float(np.dot(scratch, scratch))
            high = max(high, int(part.max()))
            low = min(low, int(part.min()))
        peak = max(high, -low) / _INT16_FULL_SCALE  # -low: -32768 is full scale too, and abs() of it overflows
        self._latest = (amplitude_to_dbfs(peak), power_to_dbfs(sum_squares / (count * _INT16_FULL_SCALE ** 2)))

    def reset(self) -> None:
        self._latest = (SILENCE_DBFS, SILENCE_DBFS)

    @property
    def level(self) -> Level:
        peak, rms = self._latest
        return Level(peak, rms)
