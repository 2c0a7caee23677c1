"""Recording: PortAudio capture -> bounded block ring -> writer thread -> crash-safe WAV, plus crash recovery.

No Qt here: the GUI polls `Recorder.level` / `elapsed` / `state` (all lock-free reads) and receives the
`RecordingResult` through the `on_finished` hook, which runs on the recorder's writer thread.
"""

from memo_desktop.core.recorder.devices import (
    InputDevice,
    default_input_device,
    find_input_device,
    list_input_devices,
    rescan,
)
from memo_desktop.core.recorder.level import SILENCE_DBFS, Level
from memo_desktop.core.recorder.recorder import Recorder
from memo_desktop.core.recorder.recovery import RecoveredRecording, find_unfinished, recover_unfinished
from memo_desktop.core.recorder.result import RecorderState, RecordingResult, StopReason

__all__ = [
    "SILENCE_DBFS",
    "InputDevice",
    "Level",
    "Recorder",
    "RecorderState",
    "RecordingResult",
    "RecoveredRecording",
    "StopReason",
    "default_input_device",
    "find_input_device",
    "find_unfinished",
    "list_input_devices",
    "recover_unfinished",
    "rescan",
]
