"""A recording as mono pieces at a fixed rate (16 kHz for Whisper), cut where it is quiet, with bounded memory.

Speech models want the whole input as one array; a 2 h memo would be ~460 MB of float32 at 16 kHz before the model
even starts. Pieces of at most `max_seconds` keep that to tens of MB, and cutting at the quietest moment of each
piece's last `search_seconds` keeps words whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from memo_desktop.core.audio.reading import open_audio, read_blocks
from memo_desktop.core.audio.resample import StreamResampler

READ_FRAMES = 1 << 16
QUIET_WINDOW_SECONDS = 0.1


@dataclass(frozen=True)
class AudioPiece:
    start: float  # seconds from the start of the recording
    samples: np.ndarray  # mono float32 at the requested rate
    total_seconds: float  # the whole recording's length as its header states it (0.0 if unknown)


def mono_pieces(path: Path, rate: int, max_seconds: float, search_seconds: float) -> Iterator[AudioPiece]:
    """Consecutive pieces covering the whole recording; CorruptAudio if it cannot be decoded."""
    max_len = round(max_seconds * rate)
    search = min(round(search_seconds * rate), max_len // 2)
    with open_audio(path) as sound:
        total = sound.frames / sound.samplerate if sound.frames > 0 else 0.0
        resampler = StreamResampler(sound.samplerate, rate, 1) if sound.samplerate != rate else None
        pending: list[np.ndarray] = []
        pending_len = 0
        offset = 0
        for block in read_blocks(sound, READ_FRAMES):
            mono = block.mean(axis=1, keepdims=True, dtype=np.float32)  # a copy: `block` is a reused buffer
            converted = resampler.process(mono) if resampler else mono
            pending.append(converted[:, 0])
            pending_len += len(converted)
            while pending_len >= max_len:
                buffered = np.concatenate(pending)
                cut = _quietest_cut(buffered, max_len - search, max_len, rate)
                yield AudioPiece(offset / rate, buffered[:cut], total)
                offset += cut
                pending, pending_len = [buffered[cut:]], len(buffered) - cut
        if resampler:
            pending.append(resampler.flush()[:, 0])
        rest = np.concatenate(pending) if pending else np.empty(0, dtype=np.float32)
        if len(rest) or offset == 0:
            yield AudioPiece(offset / rate, rest, total)


def _quietest_cut(samples: np.ndarray, start: int, stop: int, rate: int) -> int:
    """The middle of the quietest short window in samples[start:stop]."""
    window = max(1, round(QUIET_WINDOW_SECONDS * rate))
    count = (stop - start) // window
    if count < 1:
        return stop
    region = samples[start:start + count * window].reshape(count, window)
    quietest = int(np.argmin(np.einsum("ij,ij->i", region, region)))
    return start + quietest * window + window // 2
