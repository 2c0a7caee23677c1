"""Closing the app while it records and uploads: nothing is lost, and nothing keeps running afterwards.

This test runs the app with its *embedded* Redis and object store (as a user would), so it can check that closing
stops them too; the autouse fixture checks threads, QThreads and thread pools.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memo_desktop.core.config import load_settings
from memo_desktop.core.library import UploadState
from memo_desktop.core.services import RedisServer
from memo_desktop.core.services.object_store_server import ObjectStoreServer
from memo_desktop.ui.recording_controller import RecordingPhase
from tests.fixtures.virtual_mic import speech_wav
from tests.fixtures.waiting import wait_until
from tests.ui.conftest import child_pids, close_app, open_app, write_tone_wav


def test_closing_during_a_recording_and_uploads_loses_nothing(qtbot, tmp_path, mic):
    settings = load_settings({"data_dir": str(tmp_path / "data"), "auto_analyze": False}, environ={})
    processes_before = child_pids()
    desktop = open_app(qtbot, settings)
    try:
        assert child_pids() - processes_before, "the embedded services should run as children of the app"
        qtbot.waitUntil(desktop.recorder_widget.record_action.isEnabled, timeout=10_000)
        player = mic.play(speech_wav(tmp_path / "speech.wav", "Closing the app while it records."))
        desktop.recorder_widget.record_action.trigger()
        qtbot.waitUntil(lambda: desktop.controller.elapsed() > 1.0, timeout=5_000)
        files = [write_tone_wav(tmp_path / f"take {i}.wav", 20.0, freq=300 + 50 * i) for i in range(5)]
        desktop.library_widget.import_files(files)
        qtbot.waitUntil(lambda: any(i.memo.upload_state is not UploadState.LOCAL
                                    for i in desktop.library_widget.model.rows), timeout=10_000)
        assert desktop.controller.phase is RecordingPhase.RECORDING
    finally:
        close_app(qtbot, desktop)  # while recording, with uploads queued or running
        player.kill()
        player.wait(5)

    # nothing keeps running: no child process, both embedded services stopped
    assert child_pids() <= processes_before
    assert not RedisServer(settings.services_dir / "redis").status().running
    assert not ObjectStoreServer(settings.services_dir / "object-store").status().running

    # nothing lost: the recording is a memo, and the next start finishes every upload
    again = open_app(qtbot, settings)
    try:
        model = again.library_widget.model
        qtbot.waitUntil(lambda: model.rowCount() == 6
                        and all(i.memo.upload_state is UploadState.UPLOADED for i in model.rows), timeout=20_000)
        recorded = [i.memo for i in model.rows if i.memo.title.startswith("Memo ")]
        assert len(recorded) == 1 and recorded[0].duration > 1.0
    finally:
        close_app(qtbot, again)
    assert child_pids() <= processes_before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_app_process_shuts_down_in_order_on_sigterm_and_ctrl_c(tmp_path, signum):
    """`memo-desktop` as a user starts it (embedded services), then logout/kill (SIGTERM) or Ctrl-C (SIGINT)."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    app = subprocess.Popen([sys.executable, "-m", "memo_desktop", "--data-dir", str(data)], env=env,
                           cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    redis_server, store = RedisServer(data / "services" / "redis"), ObjectStoreServer(data / "services" / "object-store")
    try:
        wait_until(lambda: redis_server.status().running and store.status().running, 30, "the embedded services")
        app.send_signal(signum)
        assert app.wait(60) == 0, app.stderr.read().decode()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        app.stderr.close()
    assert not redis_server.status().running and not store.status().running
