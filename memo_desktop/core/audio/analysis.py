"""Facts about a recording: duration, format, peak and RMS level, clipping and silence, computed in one streaming
pass (a 2 h memo is read a few seconds at a time, never loaded whole).

Levels are in dBFS relative to digital full scale (1.0): a full-scale sine has a peak of 0 dBFS and an RMS of
-3.01 dBFS (plain RMS, without the AES17 +3 dB). Digital silence has no level in decibels: its peak and RMS are None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memo_desktop.core.audio.reading import format_of, open_audio, read_blocks
from memo_desktop.core.errors import CorruptAudio

# A sample at or above this magnitude counts as clipped: 16-bit full scale reads as 32767/32768 = 0.99997, and a
# converter that clips usually stops a hair below 1.0.
CLIP_LEVEL = 0.999
# A 50 ms window quieter than -50 dBFS RMS counts as silence: below the room noise of a typical laptop microphone,
# well above dither.
SILENCE_WINDOW_SECONDS = 0.05
SILENCE_DBFS = -50.0
WINDOWS_PER_BLOCK = 256  # 12.8 s per read: a few MB of float32 whatever the sample rate

Progress = Callable[[int, int], None]  # (frames done, frames expected)


@dataclass(frozen=True)
class AudioAnalysis:
    duration: float  # seconds, from the frames actually decoded
    frames: int
    sample_rate: int
    channels: int
    container: str  # WAV, FLAC, OGG, MP3, ...
    codec: str  # PCM_16, FLOAT, VORBIS, OPUS, ...
    peak_dbfs: float | None  # None for digital silence
    rms_dbfs: float | None
    clipping_ratio: float  # share of samples at or above CLIP_LEVEL
    silence_ratio: float  # share of time in windows quieter than SILENCE_DBFS

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the queue payloads."""
        return {"duration": self.duration, "frames": self.frames, "sampleRate": self.sample_rate,
                "channels": self.channels, "format": self.container, "codec": self.codec,
                "peakDbfs": self.peak_dbfs, "rmsDbfs": self.rms_dbfs, "clippingRatio": self.clipping_ratio,
                "silenceRatio": self.silence_ratio}


def analyze_file(path: Path, progress: Progress | None = None) -> AudioAnalysis:
    """Analyze `path` in one pass; CorruptAudio if it is not readable audio or decodes to no sound at all."""
    with open_audio(path) as sound:
        fmt = format_of(sound)
        window = max(1, round(SILENCE_WINDOW_SECONDS * fmt.sample_rate))
        levels = _LevelAccumulator(window, fmt.channels)
        for block in read_blocks(sound, window * WINDOWS_PER_BLOCK):
            levels.add(block)
            if progress:
                progress(levels.frames, fmt.frames)
    if levels.frames == 0:
        raise CorruptAudio(f"{path.name}: the file holds no audio (0 frames)")
    return AudioAnalysis(
        duration=levels.frames / fmt.sample_rate, frames=levels.frames, sample_rate=fmt.sample_rate,
        channels=fmt.channels, container=fmt.container, codec=fmt.codec,
        peak_dbfs=_dbfs(levels.peak), rms_dbfs=_dbfs(math.sqrt(levels.sum_squares / levels.samples)),
        clipping_ratio=levels.clipped / levels.samples, silence_ratio=levels.silent_frames / levels.frames,
    )


class _LevelAccumulator:
    """Running totals over blocks whose length is a whole number of silence windows (except the last one)."""

    def __init__(self, window: int, channels: int) -> None:
        self.window = window
        self.channels = channels
        self.frames = 0
        self.samples = 0
        self.peak = 0.0
        self.sum_squares = 0.0
        self.clipped = 0
        self.silent_frames = 0
        self._silence_power = 10.0 ** (SILENCE_DBFS / 10.0)  # mean square of a window at SILENCE_DBFS

    def add(self, block: np.ndarray) -> None:
        frames = len(block)
        magnitudes = np.abs(block)
        self.peak = max(self.peak, float(magnitudes.max()))
        self.clipped += int(np.count_nonzero(magnitudes >= CLIP_LEVEL))
        whole = frames - frames % self.window
        energies = self._window_energies(block[:whole])
        if whole < frames:  # the file's last, shorter window
            tail = block[whole:].ravel()
            energies = np.append(energies, np.dot(tail, tail))
        self.sum_squares += float(energies.sum(dtype=np.float64))
        # window mean square = energy / samples in the window; compare without dividing each window
        sizes = np.full(len(energies), self.window * self.channels, dtype=np.float64)
        if whole < frames:
            sizes[-1] = (frames - whole) * self.channels
        quiet = energies < self._silence_power * sizes
        self.silent_frames += int(np.sum(sizes[quiet])) // self.channels
        self.frames += frames
        self.samples += frames * self.channels

    def _window_energies(self, block: np.ndarray) -> np.ndarray:
        if len(block) == 0:
            return np.empty(0, dtype=np.float64)
        rows = block.reshape(-1, self.window * self.channels)
        return np.einsum("ij,ij->i", rows, rows).astype(np.float64)


def _dbfs(amplitude: float) -> float | None:
    return round(20.0 * math.log10(amplitude), 3) if amplitude > 0 else None
