"""Live input level (peak and RMS in dBFS), computed in the audio callback and read from any thread.

The callback must not allocate much or wait on a lock, so the meter reuses one scratch buffer and publishes the
result as a single tuple assignment: under the GIL that rebinding is atomic, so a reader on another thread sees
either the previous block's level or this one's, never half of each, without any lock.

dBFS here is relative to a full-scale amplitude of 1.0 (int16: 32768): a sine peaking at -6 dBFS has an RMS of
about -9 dBFS. Digital silence reads SILENCE_DBFS rather than minus infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SILENCE_DBFS = -120.0
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
        scratch = self._scratch[: samples.size]
        np.copyto(scratch, samples)  # int16 -> float32 in place: sums of squares of int16 overflow
        mean_square = float(np.dot(scratch, scratch)) / (samples.size * _INT16_FULL_SCALE ** 2) if samples.size else 0.0
        peak = max(float(scratch.max()), -float(scratch.min())) / _INT16_FULL_SCALE if samples.size else 0.0
        self._latest = (amplitude_to_dbfs(peak), power_to_dbfs(mean_square))

    def reset(self) -> None:
        self._latest = (SILENCE_DBFS, SILENCE_DBFS)

    @property
    def level(self) -> Level:
        peak, rms = self._latest
        return Level(peak, rms)
