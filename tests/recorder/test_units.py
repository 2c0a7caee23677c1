"""The recorder's building blocks without audio hardware: block ring, level meter, result messages."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from memo_desktop.core.errors import RecorderError
from memo_desktop.core.recorder import SILENCE_DBFS, RecordingResult, StopReason
from memo_desktop.core.recorder.block_ring import BlockRing
from memo_desktop.core.recorder.level import LevelMeter


def _block(value: int, frames: int = 4) -> np.ndarray:
    return np.full((frames, 1), value, dtype=np.int16)


def test_the_ring_hands_blocks_over_in_order_as_contiguous_runs():
    ring = BlockRing(capacity=4, block_frames=4, channels=1)
    for v in (1, 2, 3):
        assert ring.push(_block(v), 4)
    run, slots = ring.peek()
    assert slots == 3 and run[:, 0].tolist() == [1] * 4 + [2] * 4 + [3] * 4
    ring.release(slots)
    for v in (4, 5):  # wraps around the end of the ring: two runs
        ring.push(_block(v), 4)
    run, slots = ring.peek()
    assert (slots, run[:, 0].tolist()) == (1, [4] * 4)
    ring.release(slots)
    run, slots = ring.peek()
    assert (slots, run[:, 0].tolist()) == (1, [5] * 4)
    ring.release(slots)
    assert ring.peek()[1] == 0


def test_a_short_block_ends_a_run():
    ring = BlockRing(capacity=8, block_frames=4, channels=1)
    ring.push(_block(1), 4)
    ring.push(_block(2), 2)  # e.g. the last block before the maximum duration
    ring.push(_block(3), 4)
    run, slots = ring.peek()
    assert (slots, run[:, 0].tolist()) == (2, [1, 1, 1, 1, 2, 2])
    ring.release(slots)
    assert ring.peek()[0][:, 0].tolist() == [3] * 4


def test_a_full_ring_drops_and_counts_instead_of_blocking():
    ring = BlockRing(capacity=2, block_frames=4, channels=1)
    assert ring.push(_block(1), 4) and ring.push(_block(2), 4)
    assert not ring.push(_block(3), 4)
    assert (ring.dropped_blocks, ring.dropped_frames) == (1, 4)
    run, slots = ring.peek()
    assert run[:, 0].tolist() == [1] * 4 + [2] * 4  # what was queued is intact


def test_the_ring_loses_nothing_between_two_threads():
    ring = BlockRing(capacity=16, block_frames=8, channels=1)
    total = 5000
    received: list[int] = []

    def consume() -> None:
        while len(received) < total * 8 - ring.dropped_frames:
            run, slots = ring.peek()
            received.extend(run[:, 0].tolist())
            ring.release(slots)

    consumer = threading.Thread(target=consume)
    consumer.start()
    sent = []
    for i in range(total):
        if ring.push(_block(i % 30000, 8), 8):
            sent.extend([i % 30000] * 8)
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert received == sent


def test_level_of_silence_full_scale_and_a_half_scale_sine():
    meter = LevelMeter(960)
    assert meter.level.peak_dbfs == SILENCE_DBFS
    meter.update(np.zeros((960, 1), dtype=np.int16))
    assert meter.level.peak_dbfs == SILENCE_DBFS and meter.level.rms_dbfs == SILENCE_DBFS
    meter.update(np.full((960, 1), -32768, dtype=np.int16))  # the most negative sample must not overflow
    assert meter.level.peak_dbfs == pytest.approx(0.0) and meter.level.rms_dbfs == pytest.approx(0.0)
    t = np.arange(960) / 48000
    sine = np.round(16384 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16).reshape(-1, 1)
    meter.update(sine)
    assert meter.level.peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert meter.level.rms_dbfs == pytest.approx(-9.03, abs=0.01)


def test_the_result_message_reports_losses_and_errors():
    base = dict(path=Path("x.wav"), recording_id="rec-x", title=None, started_at=datetime.now(timezone.utc),
                frames=48000, sample_rate=48000, channels=1, device_name="mic", overflows=0, dropped_blocks=0,
                dropped_frames=0)
    assert RecordingResult(**base, stop_reason=StopReason.STOPPED, error=None).message == "recorded 1.0 s"
    lossy = RecordingResult(**{**base, "overflows": 2, "dropped_blocks": 3, "dropped_frames": 2880},
                            stop_reason=StopReason.STOPPED, error=None)
    assert "2 input overflow(s)" in lossy.message and "3 dropped block(s) (0.06 s)" in lossy.message
    failed = RecordingResult(**base, stop_reason=StopReason.DISK_FULL, error=RecorderError("the disk is full"))
    assert not failed.ok and failed.message.startswith("the disk is full")


class _Status:
    def __init__(self, input_overflow: bool) -> None:
        self.input_overflow = input_overflow


def test_the_callback_counts_overflows_and_drops_instead_of_blocking(tmp_path):
    """The callback alone (no stream): PortAudio's overflow flag is counted, a full queue drops and counts."""
    from memo_desktop.core.config import Settings
    from memo_desktop.core.recorder import Recorder

    recorder = Recorder(Settings(data_dir=tmp_path), queue_seconds=0.0)  # the smallest ring: 4 blocks
    block = np.full((960, 1), 1000, dtype=np.int16)
    recorder._on_audio(block, 960, None, _Status(input_overflow=True))
    for _ in range(5):
        recorder._on_audio(block, 960, None, _Status(input_overflow=False))
    assert recorder.overflows == 1
    assert recorder.dropped_blocks == 2  # 6 blocks into 4 slots, nobody draining
    assert recorder.elapsed == pytest.approx(4 * 960 / 48000)
    assert recorder.level.peak_dbfs == pytest.approx(20 * np.log10(1000 / 32768))
    assert recorder.callback_timings.count == 6
