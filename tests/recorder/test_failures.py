"""Every way a recording can fail ends with a clear error, and whatever was captured is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import NoInputDevice, RecorderError
from memo_desktop.core.recorder import Recorder, StopReason, list_input_devices, rescan
from memo_desktop.core.recorder.wav_writer import WavWriter
from tests.fixtures.virtual_mic import activate, deactivate, start_virtual_mic, write_wav
from tests.recorder.audio_checks import RATE, find, noise, wait_until

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]


def _leftovers(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.audio_dir.glob("*")) if settings.audio_dir.exists() else []


def test_a_device_name_that_does_not_exist_is_a_clear_error(mic, rec_settings):
    recorder = Recorder(rec_settings, device="no-such-microphone")
    with pytest.raises(NoInputDevice,
                       match="no input device matches 'no-such-microphone'; available inputs: .*default"):
        recorder.start()
    assert _leftovers(rec_settings) == []


def test_no_sound_server_means_no_input_device(mic, rec_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/nobody-listens-here")
    rescan()
    try:
        assert list_input_devices() == []
        with pytest.raises(NoInputDevice, match="no audio input device found"):
            Recorder(rec_settings).start()
    finally:
        monkeypatch.undo()
        rescan()
    assert _leftovers(rec_settings) == []
    assert list_input_devices(), "the virtual microphone did not come back after the rescan"


def test_a_device_that_disappears_mid_recording_stops_with_an_error_and_keeps_the_audio(mic, rec_settings):
    base = Path(tempfile.mkdtemp(prefix="vmic-lost-"))  # short: the daemon's socket path has a length limit
    own_mic = start_virtual_mic(base)
    saved = activate(own_mic)
    try:
        finished = []
        recorder = Recorder(rec_settings, on_finished=finished.append)
        recorder.start(title="yanked")
        assert wait_until(lambda: recorder.elapsed >= 0.5, timeout=5)
        own_mic.kill_daemon()
        result = recorder.wait(timeout=10)
    finally:
        deactivate(saved)
        own_mic.stop()
        leftovers = own_mic.leftover_processes()
        shutil.rmtree(base, ignore_errors=True)
    assert not leftovers
    assert result is not None, "the recorder did not notice that its device was gone"
    assert recorder.stop() is result and finished == [result]
    assert result.stop_reason is StopReason.DEVICE_LOST
    assert "stopped delivering audio" in str(result.error) and "kept" in str(result.error)
    assert result.duration == pytest.approx(recorder.elapsed, abs=1e-9) and result.duration >= 0.5
    with wave.open(str(result.path)) as w:
        assert w.getnframes() == result.frames
    assert [p for p in _leftovers(rec_settings) if ".recording." in p] == []


@pytest.fixture
def tiny_disk(tmp_path):
    """A 200 KiB tmpfs (about 2 s of 48 kHz 16-bit mono): a real full disk. Needs root (mount)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_stops_the_recording_keeps_the_audio_and_says_why(mic, tiny_disk, tmp_path):
    settings = Settings(data_dir=tiny_disk / "data")
    played_wav = write_wav(tmp_path / "noise.wav", noise(4.0))
    recorder = Recorder(settings)
    recorder.start()
    assert wait_until(lambda: recorder.elapsed > 0.05, timeout=5)
    player = mic.play(played_wav)
    try:
        result = recorder.wait(timeout=15)
    finally:
        player.kill()
        player.wait()
    assert result is not None, "the recorder did not stop when the disk filled up"
    recorder.stop()
    assert result.stop_reason is StopReason.DISK_FULL
    assert "disk is full" in str(result.error) and "kept" in str(result.error)
    assert result.duration > 1.0  # most of the 200 KiB holds audio
    with wave.open(str(result.path)) as w:  # the header matches the data that reached the disk
        assert w.getnframes() == result.frames
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert len(data) == result.frames
    assert result.path.stat().st_size == 44 + 2 * result.frames
    played = soundfile.read(str(played_wav), dtype="int16")[0]
    tail = data[-int(0.2 * RATE):]
    if np.any(tail):  # the noise had reached the file before it filled up: its last samples are intact
        _, similarity = find(played, tail)
        assert similarity > 0.99


def test_the_writer_recognises_a_full_disk():
    """/dev/full fails every write with ENOSPC: the narrowest real check of the error translation."""
    with pytest.raises(RecorderError, match="disk is full"):
        WavWriter(Path("/dev/full"), 48000, 1)


def test_start_on_a_full_disk_fails_clearly_and_leaves_nothing(mic, tiny_disk):
    settings = Settings(data_dir=tiny_disk / "data")
    settings.audio_dir.mkdir(parents=True)
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError):  # fill the disk up
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    with pytest.raises(RecorderError, match="No space left on device|disk is full"):
        Recorder(settings).start()
    filler.unlink()
    assert _leftovers(settings) == []


def test_rescan_is_refused_while_recording(mic, rec_settings):
    recorder = Recorder(rec_settings)
    recorder.start()
    try:
        with pytest.raises(RecorderError, match="while a recording is in progress"):
            rescan()
    finally:
        recorder.stop()
    rescan()  # fine again once the stream is closed
    time.sleep(0)
    assert os.environ.get("PULSE_SERVER")
