"""A bounded, lock-free queue of audio blocks between the PortAudio callback (producer) and the writer thread.

Single producer, single consumer, preallocated: the callback copies each block into the next free slot and
publishes it by bumping `_pushed`; the writer reads slots up to that count and frees them by bumping `_popped`.
Each counter has exactly one writer and a Python int rebinding is atomic under the GIL, so neither side ever
waits. The copy is a bytes-level memoryview assignment, a memcpy that keeps the GIL: a numpy copy of a block this
size releases the GIL and may then wait milliseconds to get it back (see `level`).

When the writer falls so far behind that every slot is taken, the callback drops the block and counts it: it must
never block, and a dropped block is reported, not hidden.
"""

from __future__ import annotations

import numpy as np


class BlockRing:
    def __init__(self, capacity: int, block_frames: int, channels: int, dtype: np.dtype | str = "int16") -> None:
        if capacity < 2:
            raise ValueError("a block ring needs at least 2 slots")
        self.capacity = capacity
        self.block_frames = block_frames
        self._slots = np.zeros((capacity, block_frames, channels), dtype=dtype)
        self._frames = np.zeros(capacity, dtype=np.int64)
        self._dtype = self._slots.dtype
        self._frame_bytes = channels * self._slots.itemsize
        self._slot_bytes = [memoryview(self._slots[i]).cast("B") for i in range(capacity)]
        self._pushed = 0  # written by the producer only
        self._popped = 0  # written by the consumer only
        self.dropped_blocks = 0  # producer only
        self.dropped_frames = 0  # producer only

    # -- producer (audio callback) --------------------------------------------------------------------------------
    def push(self, block: np.ndarray, frames: int) -> bool:
        """Copy the first `frames` frames of `block` into a free slot; False (and counted) when the ring is full."""
        if self._pushed - self._popped >= self.capacity or frames > self.block_frames:
            self.dropped_blocks += 1
            self.dropped_frames += frames
            return False
        slot = self._pushed % self.capacity
        if block.dtype == self._dtype and block.flags.c_contiguous:
            nbytes = frames * self._frame_bytes
            self._slot_bytes[slot][:nbytes] = memoryview(block).cast("B")[:nbytes]
        else:  # not what PortAudio hands us; correct, just slower
            self._slots[slot, :frames] = block[:frames]
        self._frames[slot] = frames
        self._pushed += 1  # publish only after the copy is complete
        return True

    # -- consumer (writer thread) ---------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self._pushed - self._popped

    def peek(self) -> tuple[np.ndarray, int]:
        """The oldest run of queued audio as one contiguous (frames, channels) view, and how many slots it spans.

        The view stays valid until `release(slots)`: the producer never reuses a slot before that. A run stops at
        the end of the ring and after a partly filled slot, so it is always contiguous memory.
        """
        pending = self._pushed - self._popped
        if pending == 0:
            return self._slots[0, :0], 0
        start = self._popped % self.capacity
        slots = min(pending, self.capacity - start)
        frames = self._frames[start : start + slots]
        short = np.flatnonzero(frames != self.block_frames)
        if short.size:
            slots = int(short[0]) + 1
        # Only the last slot of a run can be short, so its audio is a prefix of the slots' memory.
        total = int(frames[:slots].sum())
        run = self._slots[start : start + slots].reshape(-1, self._slots.shape[2])
        return run[:total], slots

    def release(self, slots: int) -> None:
        self._popped += slots

