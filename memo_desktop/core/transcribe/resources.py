"""How much of the machine a transcription takes: CPU threads, batch size, and how many run at once.

Measured on the 2-core development machine (int8, beam 5, word timestamps, 10 min of speech; README, Benchmarks):
the batched pipeline's speed is flat from a batch of 2 to 4 (RTF tiny.en 0.035 / 0.040, base 0.063 / 0.070; batch
8 is slower: 0.058 / 0.078) while its resident memory grows by ~80-100 MiB per batch element (the decoder keeps a
cross-attention cache per beam: tiny.en +320 MiB at 2, +512 at 4, +739 at 8). So the automatic batch size is one
per core, at most 8, and no more than fits an eighth of the machine's memory.

Transcriptions in one process share the model and take turns: each already uses every core. Measured with 5 jobs
of 65 s on 2 cores, all 5 at once against taking turns: the same CPU time (13.4-14.0 s either way: CTranslate2
queues concurrent calls on its one model replica, so nothing thrashes) and wall times within the machine's noise
(12.5-15.9 s both); memory +220-360 MiB both. Turns are kept because they bound what a waiting job holds: nothing
(a transcription reads its audio only once it has its turn), where each concurrent one holds its 10 min piece,
its features and its VAD state (~60-80 MB, computed), and because jobs then finish one after the other instead of
all at the end. `TranscriptionSlots` lets `cores // threads` run at once (1 on 2 cores).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

MAX_AUTO_BATCH = 8
BATCH_PER_CORE = 1
MEMORY_SHARE = 8  # the automatic batch may use 1/8 of the machine's memory


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def total_memory_mib() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    except (AttributeError, ValueError, OSError):
        return None


def cpu_threads(configured: int) -> int:
    """Threads per transcription: the setting, or one per core (CTranslate2's own default is 4, too many on 2)."""
    return configured if configured > 0 else usable_cores()


def auto_batch_size(batch_item_mib: int, beam_size: int, cores: int | None = None,
                    memory_mib: int | None = None) -> int:
    """The batch size for this machine: one per core, at most 8, within an eighth of its memory."""
    cores = usable_cores() if cores is None else cores
    memory_mib = total_memory_mib() if memory_mib is None else memory_mib
    size = min(MAX_AUTO_BATCH, BATCH_PER_CORE * cores)
    if memory_mib:
        per_item = max(1, batch_item_mib * beam_size // 5)  # the cache grows with the beam
        size = min(size, memory_mib // MEMORY_SHARE // per_item)
    return max(1, size)


def concurrent_transcriptions(threads: int, cores: int | None = None) -> int:
    cores = usable_cores() if cores is None else cores
    return max(1, cores // max(1, threads))


class TranscriptionSlots:
    """At most `limit` transcriptions at once in this process (the limit may change between calls, as settings do).
    Waiters are served in arrival order, so a stream of short memos never starves a long one."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._queue: list[object] = []

    @property
    def active(self) -> int:
        return self._active

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextmanager
    def hold(self, limit: int) -> Iterator[None]:
        ticket = object()
        with self._condition:
            self._queue.append(ticket)
            try:
                self._condition.wait_for(lambda: self._queue[0] is ticket and self._active < max(1, limit))
            finally:
                self._queue.remove(ticket)
                self._condition.notify_all()
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()
