"""Crash safety: a recording whose process dies is recovered, repaired, readable by every reader."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from memo_desktop.core.config import Settings
from memo_desktop.core.recorder import Recorder, find_unfinished, recover_unfinished
from memo_desktop.core.recorder.wav_repair import repair_wav_header
from tests.fixtures.virtual_mic import write_wav
from tests.recorder.audio_checks import RATE, noise

REPO = Path(__file__).resolve().parents[2]

_RECORD_UNTIL_KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from memo_desktop.core.config import Settings
    from memo_desktop.core.recorder import Recorder
    recorder = Recorder(Settings(data_dir=Path(sys.argv[1])))
    recorder.start(title="killed mid-sentence")
    while True:
        print(f"{recorder.elapsed:.4f}", flush=True)
        time.sleep(0.05)
""")


@pytest.mark.audio
@pytest.mark.timeout(60)
def test_a_recording_killed_with_sigkill_is_recovered_and_readable_everywhere(mic, rec_settings, tmp_path):
    player = mic.play(write_wav(tmp_path / "noise.wav", noise(5.0)))
    proc = subprocess.Popen([sys.executable, "-c", _RECORD_UNTIL_KILLED, str(rec_settings.data_dir)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        captured = 0.0
        for line in proc.stdout:
            captured = float(line)
            if captured >= 1.5:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stderr = proc.stderr.read()
    finally:
        proc.stdout.close()
        proc.stderr.close()
        player.kill()
        player.wait()
    assert captured >= 1.5, f"the recording process never got going: {stderr}"

    assert len(find_unfinished(rec_settings.audio_dir)) == 1
    recovered = recover_unfinished(rec_settings.audio_dir)
    assert len(recovered) == 1
    item = recovered[0]
    assert item.title == "killed mid-sentence" and item.was_interrupted
    assert captured - 1.0 <= item.duration <= captured + 0.5, (captured, item.duration)
    assert item.path.suffix == ".wav" and not item.path.name.endswith(".recording.wav")
    assert find_unfinished(rec_settings.audio_dir) == []
    # Every reader agrees on the length: libsndfile, Python's wave module and sox.
    frames = round(item.duration * RATE)
    assert soundfile.info(str(item.path)).frames == frames
    with wave.open(str(item.path)) as w:
        assert w.getnframes() == frames
        assert len(w.readframes(frames)) == 2 * frames
    if shutil.which("soxi"):
        out = subprocess.run(["soxi", "-s", str(item.path)], capture_output=True, text=True, check=True).stdout
        assert int(out) == frames
    assert recover_unfinished(rec_settings.audio_dir) == []  # a second pass finds nothing more


@pytest.mark.audio
@pytest.mark.timeout(30)
def test_the_recovery_pass_leaves_a_live_recording_alone(mic, rec_settings):
    recorder = Recorder(rec_settings)
    recorder.start()
    try:
        assert find_unfinished(rec_settings.audio_dir) == []
        assert recover_unfinished(rec_settings.audio_dir) == []
        assert recorder.in_progress_path.exists()
    finally:
        result = recorder.stop()
    assert result.ok and result.path.exists()


@pytest.mark.audio
@pytest.mark.timeout(30)
def test_a_failed_hand_over_leaves_the_recording_for_the_recovery_pass(mic, rec_settings):
    def library_down(result):
        raise RuntimeError("library is locked")

    recorder = Recorder(rec_settings, max_seconds=0.3, on_finished=library_down)
    path = recorder.start(title="not yet in the library")
    with pytest.raises(RuntimeError, match="library is locked"):  # wait() and stop() both hand the error over
        recorder.wait(timeout=5)
    with pytest.raises(RuntimeError, match="library is locked"):
        recorder.stop()
    handed = []
    recovered = recover_unfinished(rec_settings.audio_dir, hand_over=handed.append)
    assert handed == recovered and len(recovered) == 1
    assert recovered[0].path == path and not recovered[0].was_interrupted and not recovered[0].repaired
    assert recovered[0].title == "not yet in the library"
    assert recover_unfinished(rec_settings.audio_dir) == []


def _interrupted(audio_dir: Path, name: str, samples: np.ndarray, declared_frames: int, title: str = "t") -> Path:
    """What a killed writer leaves: the samples, a header declaring `declared_frames`, and the note."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    wav = write_wav(audio_dir / f"{name}.recording.wav", samples)
    with open(wav, "r+b") as f:
        f.seek(4)
        f.write(struct.pack("<I", 36 + 2 * declared_frames))
        f.seek(40)
        f.write(struct.pack("<I", 2 * declared_frames))
    (audio_dir / f"{name}.recording.json").write_text(json.dumps(
        {"recording_id": name, "final_name": f"{name}.wav", "title": title,
         "started_at": "2026-11-28T10:00:00+00:00", "sample_rate": RATE, "channels": 1, "device_name": "x",
         "pid": 1, "host": "elsewhere"}))
    return wav


@pytest.mark.parametrize("declared", [0, 1000, 10**6], ids=["zero-frames", "too-few", "more-than-written"])
def test_the_header_is_repaired_to_the_frames_on_disk(tmp_path, declared):
    samples = noise(0.5)
    wav = _interrupted(tmp_path, "rec-a", samples, declared)
    result = repair_wav_header(wav)
    assert result.repaired and result.frames == len(samples)
    with wave.open(str(wav)) as w:
        assert w.getnframes() == len(samples)
    assert repair_wav_header(wav).repaired is False  # idempotent


def test_a_trailing_partial_frame_is_cut(tmp_path):
    wav = _interrupted(tmp_path, "rec-b", noise(0.1), 0)
    with open(wav, "ab") as f:
        f.write(b"\x01")  # half a 16-bit frame: the writer died mid-sample
    assert repair_wav_header(wav).frames == int(0.1 * RATE)
    assert wav.stat().st_size == 44 + 2 * int(0.1 * RATE)


def test_a_clean_file_with_trailing_chunks_is_left_alone(tmp_path):
    wav = tmp_path / "clean.wav"
    with soundfile.SoundFile(str(wav), "w", RATE, 1, "PCM_16", format="WAV") as f:
        f.title = "has a LIST chunk after the data"
        f.write((noise(0.2) * 32767).astype(np.int16))
    before = wav.read_bytes()
    assert repair_wav_header(wav).repaired is False
    assert wav.read_bytes() == before


def test_recovery_drops_empty_recordings_and_orphan_notes(tmp_path):
    _interrupted(tmp_path, "rec-empty", np.zeros(0, dtype=np.float32), 0)
    (tmp_path / "rec-noaudio.recording.json").write_text("{not json")
    assert recover_unfinished(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == []


def test_recovery_never_overwrites_an_existing_file(tmp_path):
    _interrupted(tmp_path, "rec-c", noise(0.2), 0, title="second take")
    (tmp_path / "rec-c.wav").write_bytes(b"someone else's file")
    [item] = recover_unfinished(tmp_path)
    assert item.path.name == "rec-c-recovered-1.wav" and item.title == "second take"
    assert (tmp_path / "rec-c.wav").read_bytes() == b"someone else's file"


def test_the_settings_audio_dir_is_where_recordings_go(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert find_unfinished(settings.audio_dir) == []  # a missing dir is simply empty
