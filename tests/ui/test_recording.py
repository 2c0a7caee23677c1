"""Recording through the UI from the virtual microphone: level meter, pause, stop, and the memo uploading."""

from __future__ import annotations

from PySide6.QtCore import Qt

from memo_desktop.core.library import UploadState
from memo_desktop.ui import recording_controller
from memo_desktop.ui.recorder_widget import NO_DEVICE_TEXT
from memo_desktop.ui.recording_controller import RecordingPhase
from tests.fixtures.virtual_mic import speech_wav


def test_record_from_the_microphone_and_see_the_memo_upload(qtbot, desktop, mic, tmp_path):
    recorder, controller = desktop.recorder_widget, desktop.controller
    qtbot.waitUntil(recorder.record_action.isEnabled, timeout=10_000)  # devices listed (off-thread)
    speech = speech_wav(tmp_path / "speech.wav", "Recording a memo through the desktop app, with pause and stop.")
    player = mic.play(speech)
    try:
        qtbot.keyClick(desktop.window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: controller.phase is RecordingPhase.RECORDING, timeout=5_000)
        qtbot.waitUntil(lambda: controller.elapsed() > 1.0 and recorder.meter.peak_dbfs > -40, timeout=5_000)
        qtbot.keyClick(desktop.window, Qt.Key.Key_Space)
        assert controller.phase is RecordingPhase.PAUSED
        paused_at = controller.elapsed()
        qtbot.wait(400)
        assert controller.elapsed() - paused_at < 0.1  # nothing recorded while paused
        qtbot.keyClick(desktop.window, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: controller.elapsed() > paused_at + 0.8, timeout=5_000)
        recorder.stop_action.trigger()
        qtbot.waitUntil(lambda: controller.phase is RecordingPhase.IDLE, timeout=10_000)
    finally:
        player.kill()
        player.wait(5)
    model = desktop.library_widget.model
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.rows[0].memo.upload_state is UploadState.UPLOADED,
                    timeout=15_000)
    memo = model.rows[0].memo
    assert 1.5 < memo.duration < 10 and not memo.recovered
    assert memo.audio_path.is_file() and memo.object_key


def test_no_input_device_is_explained_and_recording_is_disabled(qtbot, desktop, monkeypatch):
    monkeypatch.setattr(recording_controller, "list_input_devices", lambda: [])
    monkeypatch.setattr(recording_controller, "rescan", lambda: None)
    recorder = desktop.recorder_widget
    qtbot.mouseClick(recorder.rescan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: recorder.device_message.isVisible(), timeout=5_000)
    assert recorder.device_message.text() == NO_DEVICE_TEXT
    assert not recorder.record_action.isEnabled()
    assert recorder.rescan_button.isEnabled()
