"""The GUI's side of a recording: start/stop off the GUI thread, the finished memo announced as a signal.

Opening a device, stopping (which joins the writer thread) and listing devices are PortAudio or disk work, so they
run on the background runner. Pause and resume only flip a flag in the Recorder, and the level and elapsed time
are plain attribute reads, so those are called directly (the meter's timer reads them ~30 times a second).

The Recorder's `on_finished` hook runs on its writer thread: it adds the memo to the library and queues the upload
(core.recordings.library_hook) with whatever service generation is current at that moment.
"""

from __future__ import annotations

import threading
from enum import Enum
from typing import Callable

from PySide6.QtCore import QObject, Signal

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import RecorderError
from memo_desktop.core.playback import AudioPlayer
from memo_desktop.core.recorder import (InputDevice, Level, Recorder, RecorderState, RecordingResult,
                                        list_input_devices, rescan)
from memo_desktop.core.recordings import library_hook
from memo_desktop.ui.background import BackgroundRunner, describe_error


class RecordingPhase(str, Enum):
    IDLE = "idle"
    STARTING = "starting"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPING = "stopping"


class RecordingController(QObject):
    phase_changed = Signal(object)  # RecordingPhase
    recording_finished = Signal(object)  # RecordingResult
    recording_failed = Signal(str)
    devices_listed = Signal(object)  # tuple[InputDevice, ...]
    device_scan_failed = Signal(str)

    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext], player: AudioPlayer,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._context = context
        self._player = player  # PortAudio cannot be re-initialised under an open output stream
        self._phase = RecordingPhase.IDLE
        self._recorder: Recorder | None = None  # the GUI thread's view
        self._lock = threading.Lock()
        self._running: Recorder | None = None  # what the shutdown sequence must stop (set by the start task)

    # -- reads for the GUI (in-memory only) ----------------------------------------------------------------------
    @property
    def phase(self) -> RecordingPhase:
        return self._phase

    def level(self) -> Level | None:
        recorder = self._recorder
        return recorder.level if recorder is not None else None

    def elapsed(self) -> float:
        recorder = self._recorder
        return recorder.elapsed if recorder is not None else 0.0

    def poll(self) -> None:
        """Called by the meter's timer: notices a recording that ended by itself (maximum length, device lost)."""
        recorder = self._recorder
        if recorder is not None and self._phase in (RecordingPhase.RECORDING, RecordingPhase.PAUSED) and \
                recorder.state in (RecorderState.FINISHING, RecorderState.FINISHED):
            self.stop()

    # -- actions -------------------------------------------------------------------------------------------------
    def start(self, device: str = "", title: str | None = None) -> None:
        if self._phase is not RecordingPhase.IDLE:
            return
        self._set_phase(RecordingPhase.STARTING)
        self._runner.submit(self._start_recorder, device, title, on_result=self._on_start_succeeded,
                            on_error=self._on_start_failed)

    def pause(self) -> None:
        if self._recorder is not None and self._phase is RecordingPhase.RECORDING:
            self._recorder.pause()
            self._set_phase(RecordingPhase.PAUSED)

    def resume(self) -> None:
        if self._recorder is not None and self._phase is RecordingPhase.PAUSED:
            self._recorder.resume()
            self._set_phase(RecordingPhase.RECORDING)

    def toggle_pause(self) -> None:
        if self._phase is RecordingPhase.RECORDING:
            self.pause()
        elif self._phase is RecordingPhase.PAUSED:
            self.resume()

    def stop(self) -> None:
        recorder = self._recorder
        if recorder is None or self._phase not in (RecordingPhase.RECORDING, RecordingPhase.PAUSED):
            return
        self._set_phase(RecordingPhase.STOPPING)
        self._runner.submit(self._stop_recorder, recorder, on_result=self._on_stop_succeeded,
                            on_error=self._on_stop_failed)

    def list_devices(self, rescan_first: bool = False) -> None:
        self._runner.submit(self._list_devices, rescan_first, key="input-devices",
                            on_result=lambda found: self.devices_listed.emit(found),
                            on_error=lambda exc: self.device_scan_failed.emit(describe_error(exc)))

    def finish_blocking(self, timeout: float = 15.0) -> RecordingResult | None:
        """For the shutdown sequence (not the GUI thread): end a running recording so that its memo is kept."""
        with self._lock:
            recorder, self._running = self._running, None
        if recorder is None or recorder.state is RecorderState.IDLE:
            return None
        return recorder.stop(timeout=timeout)

    # -- background tasks ----------------------------------------------------------------------------------------
    def _start_recorder(self, device: str, title: str | None) -> Recorder:
        def on_finished(result: RecordingResult) -> None:
            library_hook(self._context())(result)  # the generation current when the recording ends

        recorder = Recorder(self._context().settings, device=device or None, on_finished=on_finished)
        recorder.start(title=title)
        with self._lock:
            self._running = recorder
        return recorder

    def _stop_recorder(self, recorder: Recorder) -> RecordingResult:
        try:
            return recorder.stop()
        finally:
            with self._lock:
                if self._running is recorder:
                    self._running = None

    def _list_devices(self, rescan_first: bool) -> tuple[InputDevice, ...]:
        if rescan_first:
            if self._running is not None:
                raise RecorderError("cannot rescan audio devices while recording")
            self._player.close(timeout=2.0)
            rescan()
        return tuple(list_input_devices())

    # -- results (GUI thread) -----------------------------------------------------------------------------------
    def _on_start_succeeded(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._set_phase(RecordingPhase.RECORDING)

    def _on_start_failed(self, exc: BaseException) -> None:
        self._set_phase(RecordingPhase.IDLE)
        self.recording_failed.emit(describe_error(exc))

    def _on_stop_succeeded(self, result: RecordingResult) -> None:
        self._recorder = None
        self._set_phase(RecordingPhase.IDLE)
        self.recording_finished.emit(result)

    def _on_stop_failed(self, exc: BaseException) -> None:
        self._recorder = None
        self._set_phase(RecordingPhase.IDLE)
        self.recording_failed.emit(f"{describe_error(exc)} (the audio is kept; it is added at the next start)")

    def _set_phase(self, phase: RecordingPhase) -> None:
        if phase is not self._phase:
            self._phase = phase
            self.phase_changed.emit(phase)
