"""Long memos made cheaply for memory tests: one short recording repeated with faint noise between, written in
blocks (never held in memory whole), as 16-bit mono WAV at the recording's rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

NOISE_LEVEL = 0.001  # -60 dBFS: the room tone of a quiet office, not digital silence
SPEECH_OFFSET = 1.0  # seconds of noise before each repetition


def write_dictation(sentences: list[Path], pauses: list[float], dest: Path) -> Path:
    """Sentences (recordings at one rate) with a pause of room tone after each: how people dictate a memo."""
    rng = np.random.default_rng(2)
    with soundfile.SoundFile(str(sentences[0])) as first:
        rate = first.samplerate
    with soundfile.SoundFile(str(dest), "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for sentence, pause in zip(sentences, pauses):
            samples, _ = soundfile.read(str(sentence), dtype="float32")
            out.write(samples + (rng.standard_normal(len(samples)) * NOISE_LEVEL).astype(np.float32))
            out.write((rng.standard_normal(round(pause * rate)) * NOISE_LEVEL).astype(np.float32))
    return dest


def write_sparse_speech(speech: Path, dest: Path, seconds: float, every: float) -> Path:
    """`seconds` of audio holding `speech` once every `every` seconds."""
    samples, rate = soundfile.read(str(speech), dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    period = round(every * rate)
    offset = round(SPEECH_OFFSET * rate)
    assert offset + len(samples) <= period, "the speech does not fit in one period"
    rng = np.random.default_rng(1)
    left = round(seconds * rate)
    with soundfile.SoundFile(str(dest), "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        while left > 0:
            block = (rng.standard_normal(min(period, left)) * NOISE_LEVEL).astype(np.float32)
            spoken = samples[:max(0, len(block) - offset)]
            block[offset:offset + len(spoken)] += spoken
            out.write(block)
            left -= len(block)
    return dest
