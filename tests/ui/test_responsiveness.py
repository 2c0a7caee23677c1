"""The GUI thread never waits: a 10 ms QTimer probe measures the gaps between its ticks while 5 uploads and a
recording run (plus the imports, listings and job events they cause)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer

from memo_desktop.core.library import UploadState
from memo_desktop.ui.recording_controller import RecordingPhase
from tests.ui.conftest import write_tone_wav

PROBE_MS = 10
MAX_BLOCK_SECONDS = 0.050


class GapProbe:
    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def __enter__(self) -> GapProbe:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()

    @property
    def blocked(self) -> list[float]:
        """How long each gap exceeded the probe interval (the time the GUI thread could not run its timer)."""
        return sorted(b - a - PROBE_MS / 1000 for a, b in zip(self.ticks, self.ticks[1:]))


def test_the_gui_thread_is_never_blocked_while_uploading_and_recording(qtbot, desktop, mic, tmp_path):
    files = [write_tone_wav(tmp_path / f"long take {i}.wav", 30.0, freq=250 + 40 * i) for i in range(5)]
    model = desktop.library_widget.model
    qtbot.waitUntil(desktop.recorder_widget.record_action.isEnabled, timeout=10_000)
    with GapProbe() as probe:
        desktop.recorder_widget.record_action.trigger()
        qtbot.waitUntil(lambda: desktop.controller.phase is RecordingPhase.RECORDING, timeout=5_000)
        desktop.library_widget.import_files(files)
        qtbot.waitUntil(lambda: model.rowCount() == 5
                        and all(i.memo.upload_state is UploadState.UPLOADED for i in model.rows), timeout=30_000)
        # a measured window of at least 2 s, however fast the uploads were
        qtbot.waitUntil(lambda: desktop.controller.elapsed() > 2.0, timeout=10_000)
        desktop.recorder_widget.stop_action.trigger()
        qtbot.waitUntil(lambda: desktop.controller.phase is RecordingPhase.IDLE, timeout=10_000)
        qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=10_000)
    blocked = probe.blocked
    assert len(probe.ticks) > 100  # the probe ran throughout (2 s or more at 10 ms)
    worst = blocked[-1]
    p99 = blocked[int(len(blocked) * 0.99)]
    print(f"GUI probe: {len(probe.ticks)} ticks, p99 blocked {p99 * 1000:.1f} ms, worst {worst * 1000:.1f} ms")
    assert worst < MAX_BLOCK_SECONDS, f"the GUI thread was blocked for {worst * 1000:.0f} ms"
