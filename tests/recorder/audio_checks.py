"""Signal helpers for the recorder tests: test signals, alignment and similarity."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

RATE = 48000


def tone(seconds: float, freq: float = 1000.0, dbfs: float = -6.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float, seed: int = 7, dbfs: float = -12.0) -> np.ndarray:
    """White noise with no near-zero samples: every window of it has exactly one match in itself."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    magnitude = rng.uniform(0.2, 1.0, n) * 10 ** (dbfs / 20)
    return (magnitude * rng.choice([-1.0, 1.0], n)).astype(np.float32)


def find(haystack: np.ndarray, needle: np.ndarray) -> tuple[int, float]:
    """Where `needle` best matches in `haystack` (FFT cross-correlation), and the normalised correlation there."""
    h = haystack.astype(np.float64)
    n = needle.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(h) + len(n))))
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(n, size)), size)[: len(h) - len(n) + 1]
    offset = int(np.argmax(corr))
    return offset, ncc(h[offset : offset + len(n)], n)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    denom = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / denom) if denom else 0.0


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
