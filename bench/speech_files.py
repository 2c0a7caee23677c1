"""Speech files for the processing benchmark: espeak-ng sentences (via sox), continuous or dictated with pauses in
room noise, and the word error rate of a transcript against what was said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[1]

SENTENCES = ("The meeting with the design team moved to Thursday afternoon at three in the main conference room.",
             "Please remember to call the doctor tomorrow morning about the results of the blood test.",
             "The new budget for the project was approved by the board on Monday.")
PAUSES = (3.2, 7.5, 4.1, 9.3, 5.0, 3.6, 8.2, 6.4)  # seconds of thinking between dictated sentences
ROOM_NOISE_RMS = 0.003  # about -50 dBFS: a quiet room through a laptop microphone


def say(text: str, workdir: Path, rate: int = 16000) -> np.ndarray:
    raw, converted = workdir / "say.espeak.wav", workdir / "say.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(converted), "gain", "-1"],
                   check=True, capture_output=True)
    return soundfile.read(str(converted), dtype="float32")[0]


def room_noise(frames: int, seed: int) -> np.ndarray:
    """Brownish noise, high-passed (no DC drift), at ROOM_NOISE_RMS."""
    noise = np.cumsum(np.random.default_rng(seed).normal(0, 1, frames)).astype(np.float32)
    noise -= np.convolve(noise, np.ones(400, np.float32) / 400, "same")
    return noise * (ROOM_NOISE_RMS / float(noise.std()))


def make_continuous(path: Path, seconds: float, workdir: Path, rate: int = 48000) -> tuple[Path, str]:
    """The sentences spoken as one paragraph, repeated to at least `seconds`."""
    paragraph = " ".join(SENTENCES)
    samples = say(paragraph, workdir, rate)
    repeats = int(np.ceil(seconds * rate / len(samples)))
    soundfile.write(str(path), np.tile(samples, repeats), rate, subtype="PCM_16")
    return path, " ".join([paragraph] * repeats)


def make_with_pauses(path: Path, workdir: Path, rate: int = 48000) -> tuple[Path, str]:
    """Dictation: a sentence, a pause of 3-9 s, the next one... in room noise."""
    parts, spoken = [], []
    for i, pause in enumerate(PAUSES):
        spoken.append(SENTENCES[i % len(SENTENCES)])
        parts += [say(spoken[-1], workdir, rate), np.zeros(int(pause * rate), np.float32)]
    samples = np.concatenate(parts)
    soundfile.write(str(path), samples + room_noise(len(samples), 2), rate, subtype="PCM_16")
    return path, " ".join(spoken)


def duration_of(path: Path) -> float:
    return soundfile.info(str(path)).duration


def word_error_rate(reference: str, hypothesis: str) -> float:
    sys.path.insert(0, str(REPO))
    from tests.processing.text_checks import word_error_rate as wer

    return wer(reference, hypothesis)
