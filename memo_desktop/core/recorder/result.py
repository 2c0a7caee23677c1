"""What a recording ends as: immutable, safe to hand to any thread (the GUI gets it through a Qt signal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from memo_desktop.core.errors import RecorderError


class RecorderState(str, Enum):
    IDLE = "idle"
    RECORDING = "recording"
    PAUSED = "paused"
    FINISHING = "finishing"  # capture has ended; the file is being closed
    FINISHED = "finished"


class StopReason(str, Enum):
    STOPPED = "stopped"  # stop() was called
    MAX_DURATION = "max_duration"
    DEVICE_LOST = "device_lost"
    DISK_FULL = "disk_full"
    WRITE_ERROR = "write_error"


@dataclass(frozen=True)
class RecordingResult:
    path: Path
    recording_id: str
    title: str | None
    started_at: datetime
    frames: int
    sample_rate: int
    channels: int
    device_name: str
    stop_reason: StopReason
    error: RecorderError | None  # set when the recording ended because something failed; the audio is kept
    overflows: int  # PortAudio reported input overflow (samples lost before they reached us)
    dropped_blocks: int  # blocks the callback had to drop because the writer fell behind
    dropped_frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        """One line for the user: how it ended, and anything lost on the way (never silently)."""
        if self.error is not None:
            text = str(self.error)
        elif self.stop_reason is StopReason.MAX_DURATION:
            text = f"recording reached its maximum duration and stopped after {self.duration:.1f} s"
        else:
            text = f"recorded {self.duration:.1f} s"
        losses = []
        if self.overflows:
            losses.append(f"{self.overflows} input overflow(s)")
        if self.dropped_blocks:
            losses.append(f"{self.dropped_blocks} dropped block(s) ({self.dropped_frames / self.sample_rate:.2f} s)")
        return text + (f"; audio lost: {', '.join(losses)}" if losses else "")
