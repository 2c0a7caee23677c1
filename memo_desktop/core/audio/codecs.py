"""Compressed copies of a recording: FLAC (lossless) or Ogg/Opus (small, lossy), encoded while streaming.

Every write to the encoder is at most MAX_FRAMES_PER_WRITE frames: libsndfile's Ogg encoders crash the whole process
on one huge write (measured: a single write of >= ~2.4 M frames to Ogg/Vorbis segfaults libsndfile 1.2.2).

Opus takes only 8, 12, 16, 24 and 48 kHz: other rates are converted to the next higher of those (44.1 kHz ->
48 kHz, 22.05 kHz -> 24 kHz; above 48 kHz -> 48 kHz) by `resample.StreamResampler`.

FLAC keeps 8/16/24-bit integer audio bit for bit. Float, 32-bit and already-lossy sources become 24-bit (float) or
16-bit (lossy) FLAC: the result says `lossless: False` then.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import soundfile

from memo_desktop.core.audio.reading import EXACT_FLAC_SUBTYPES, AudioFormat, format_of, open_audio, read_blocks
from memo_desktop.core.audio.resample import StreamResampler
from memo_desktop.core.errors import CorruptAudio, ProcessingError
from memo_desktop.core.private_files import atomic_write

MAX_FRAMES_PER_WRITE = 1 << 18  # 262,144 frames (5.5 s at 48 kHz): far below the ~2.4 M that crash libsndfile
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
# libsndfile maps its compression level c (0..1) to an Opus bitrate of ((1 - c) * 250 kbit/s + 6 kbit/s) per channel
OPUS_MIN_BITRATE = 6000
OPUS_MAX_BITRATE = 256000
# Lossy sources carry no more than 16 bits of real resolution; FLAC of them is a convenience, not an archive.
_LOSSY_FLAC_SUBTYPE = "PCM_16"
_FLOAT_FLAC_SUBTYPE = "PCM_24"

Progress = Callable[[int, int], None]  # (frames done, frames expected)


class CompressFormat(str, Enum):
    FLAC = "flac"
    OPUS = "opus"

    @property
    def extension(self) -> str:
        return self.value

    @property
    def mime_type(self) -> str:
        return "audio/flac" if self is CompressFormat.FLAC else "audio/ogg"

    @classmethod
    def parse(cls, text: str) -> CompressFormat:
        try:
            return cls(text.lower())
        except ValueError:
            raise ProcessingError(f"unknown compression format {text!r} (use flac or opus)") from None


@dataclass(frozen=True)
class CompressedAudio:
    path: Path
    format: CompressFormat
    sample_rate: int
    channels: int
    frames: int  # frames written (at `sample_rate`)
    size: int  # bytes
    source_sample_rate: int
    lossless: bool  # decodes to exactly the source's samples
    bitrate: int | None  # Opus target bitrate in bit/s; None for FLAC

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format.value, "sampleRate": self.sample_rate, "channels": self.channels,
                "duration": self.duration, "size": self.size, "sourceSampleRate": self.source_sample_rate,
                "resampled": self.sample_rate != self.source_sample_rate, "lossless": self.lossless,
                "bitrate": self.bitrate}


def opus_rate_for(sample_rate: int) -> int:
    """The Opus rate to encode a `sample_rate` source at: the same if Opus takes it, else the next higher (max 48k)."""
    return next((rate for rate in OPUS_RATES if rate >= sample_rate), OPUS_RATES[-1])


def opus_compression_level(bitrate: int, channels: int) -> float:
    """libsndfile's compression level for a total Opus `bitrate` (bit/s), clamped to what Opus can do."""
    per_channel = min(max(bitrate / channels, OPUS_MIN_BITRATE), OPUS_MAX_BITRATE)
    return 1.0 - (per_channel - OPUS_MIN_BITRATE) / (OPUS_MAX_BITRATE - OPUS_MIN_BITRATE)


def compress_file(source: Path, dest: Path, fmt: CompressFormat, *, opus_bitrate: int = 32000,
                  progress: Progress | None = None) -> CompressedAudio:
    """Encode `source` into `dest` (written under a temporary name, renamed when complete; removed on failure)."""
    # not durable: the output is a job's scratch file; whoever keeps it (the library) makes it durable
    with atomic_write(dest, durable=False) as pending, open_audio(source) as sound:
        fmt_in = format_of(sound)
        if fmt is CompressFormat.FLAC:
            frames, rate, lossless = _encode_flac(sound, fmt_in, pending.path, progress)
            bitrate = None
        else:
            frames, rate = _encode_opus(sound, fmt_in, pending.path, opus_bitrate, progress)
            lossless, bitrate = False, opus_bitrate
        if frames == 0:
            raise CorruptAudio(f"{source.name}: the file holds no audio (0 frames)")
    return CompressedAudio(path=dest, format=fmt, sample_rate=rate, channels=fmt_in.channels, frames=frames,
                           size=dest.stat().st_size, source_sample_rate=fmt_in.sample_rate, lossless=lossless,
                           bitrate=bitrate)


def _encode_flac(sound: soundfile.SoundFile, fmt_in: AudioFormat, dest: Path,
                 progress: Progress | None) -> tuple[int, int, bool]:
    if fmt_in.is_integer_pcm:
        # int32 reads carry 8-24-bit samples exactly (left-aligned); libsndfile shifts them back when writing
        subtype, dtype, lossless = EXACT_FLAC_SUBTYPES[fmt_in.codec], "int32", True
    elif fmt_in.codec in ("FLOAT", "DOUBLE", "PCM_32"):
        subtype, dtype, lossless = _FLOAT_FLAC_SUBTYPE, "float32", False
    else:
        subtype, dtype, lossless = _LOSSY_FLAC_SUBTYPE, "float32", False
    with _open_encoder(dest, fmt_in.sample_rate, fmt_in.channels, "FLAC", subtype) as out:
        frames = 0
        for block in read_blocks(sound, MAX_FRAMES_PER_WRITE, dtype):
            if dtype == "float32":
                np.clip(block, -1.0, 1.0, out=block)  # libsndfile does not clip float -> int: overs would wrap
            out.write(block)
            frames += len(block)
            if progress:
                progress(frames, fmt_in.frames)
    return frames, fmt_in.sample_rate, lossless


def _encode_opus(sound: soundfile.SoundFile, fmt_in: AudioFormat, dest: Path, bitrate: int,
                 progress: Progress | None) -> tuple[int, int]:
    rate = opus_rate_for(fmt_in.sample_rate)
    resampler = StreamResampler(fmt_in.sample_rate, rate, fmt_in.channels) if rate != fmt_in.sample_rate else None
    level = opus_compression_level(bitrate, fmt_in.channels)
    with _open_encoder(dest, rate, fmt_in.channels, "OGG", "OPUS", compression_level=level) as out:
        frames_in = frames_out = 0
        for block in read_blocks(sound, MAX_FRAMES_PER_WRITE, "float32"):
            frames_in += len(block)
            frames_out += _write_chunked(out, resampler.process(block) if resampler else block)
            if progress:
                progress(frames_in, fmt_in.frames)
        if resampler:
            frames_out += _write_chunked(out, resampler.flush())
    return frames_out, rate


def _write_chunked(out: soundfile.SoundFile, samples: np.ndarray) -> int:
    for start in range(0, len(samples), MAX_FRAMES_PER_WRITE):
        out.write(samples[start:start + MAX_FRAMES_PER_WRITE])
    return len(samples)


@contextmanager
def _open_encoder(path: Path, rate: int, channels: int, container: str, subtype: str,
                  compression_level: float | None = None) -> Iterator[soundfile.SoundFile]:
    """A SoundFile opened for writing; libsndfile's refusals (rate, channel count) become ProcessingError."""
    try:
        encoder = soundfile.SoundFile(str(path), "w", rate, channels, subtype=subtype, format=container,
                                      compression_level=compression_level)
    except soundfile.SoundFileError as exc:
        raise ProcessingError(f"cannot encode {channels}-channel {rate} Hz audio as {container}/{subtype}: "
                              f"{exc}") from None
    with encoder:
        yield encoder


def decoded_duration(path: Path) -> float:
    """Seconds of audio `path` really decodes to (not what its header claims): checks a variant before it is used."""
    with open_audio(path) as sound:
        frames = sum(len(block) for block in read_blocks(sound, MAX_FRAMES_PER_WRITE))
        return frames / sound.samplerate
