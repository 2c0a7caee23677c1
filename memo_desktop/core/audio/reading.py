"""Opening audio for streaming: what a file is, and its samples block by block, never the whole file at once.

libsndfile reports every failure as a `SoundFileError`; here they become `CorruptAudio`, which the job system does
not retry (the same bytes fail the same way every time).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile

from memo_desktop.core.errors import CorruptAudio

# Integer PCM subtypes FLAC can hold exactly (libsndfile's FLAC encoder takes 8, 16 and 24 bits).
EXACT_FLAC_SUBTYPES = {"PCM_S8": "PCM_S8", "PCM_U8": "PCM_S8", "PCM_16": "PCM_16", "PCM_24": "PCM_24"}


@dataclass(frozen=True)
class AudioFormat:
    """What libsndfile says about a file before decoding it. `frames` is the header's claim, which for some formats
    (MP3, damaged files) is an estimate: readers count the frames they actually decode."""

    sample_rate: int
    channels: int
    frames: int
    container: str  # libsndfile major format: WAV, FLAC, OGG, MP3, ...
    codec: str  # libsndfile subtype: PCM_16, FLOAT, VORBIS, OPUS, MPEG_LAYER_III, ...

    @property
    def is_integer_pcm(self) -> bool:
        return self.codec in EXACT_FLAC_SUBTYPES


def probe(path: Path) -> AudioFormat:
    """The format of `path`; CorruptAudio when it is not audio libsndfile can read, or holds no sound."""
    with open_audio(path) as sound:
        return format_of(sound)


def format_of(sound: soundfile.SoundFile) -> AudioFormat:
    return AudioFormat(sample_rate=sound.samplerate, channels=sound.channels, frames=max(0, sound.frames),
                       container=sound.format, codec=sound.subtype)


@contextmanager
def open_audio(path: Path) -> Iterator[soundfile.SoundFile]:
    """An open SoundFile for reading; CorruptAudio (naming the file and libsndfile's reason) instead of its errors."""
    try:
        sound = soundfile.SoundFile(str(path))
    except soundfile.SoundFileError as exc:
        raise CorruptAudio(f"{path.name}: not audio this app can read ({_reason(exc)})") from None
    with sound:
        if sound.samplerate <= 0 or sound.channels <= 0:
            raise CorruptAudio(f"{path.name}: the audio header is invalid "
                               f"({sound.samplerate} Hz, {sound.channels} channels)")
        yield sound


def read_blocks(sound: soundfile.SoundFile, block_frames: int, dtype: str = "float32") -> Iterator[np.ndarray]:
    """Blocks of shape (frames, channels) until the end of the stream. The same buffer is reused for every block,
    so a caller that keeps a block must copy it. A decoding error mid-file becomes CorruptAudio."""
    buffer = np.empty((block_frames, sound.channels), dtype=dtype)
    while True:
        try:
            block = sound.read(out=buffer)
        except soundfile.SoundFileError as exc:
            raise CorruptAudio(f"{Path(sound.name).name}: damaged after {sound.tell()} frames "
                               f"({_reason(exc)})") from None
        if len(block) == 0:
            return
        yield block


def _reason(exc: soundfile.SoundFileError) -> str:
    # "Error opening 'x.wav': Format not recognised." -> "format not recognised"
    text = str(exc).rsplit(":", 1)[-1].strip().rstrip(".")
    return (text[:1].lower() + text[1:]) if text else "unknown libsndfile error"
