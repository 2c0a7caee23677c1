"""Real capture through the virtual microphone: what is played is what is recorded, pause, level, limits."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile

from memo_desktop.core.recorder import Recorder, RecorderState, StopReason, list_input_devices
from tests.fixtures.virtual_mic import speech_wav, write_wav
from tests.recorder.audio_checks import RATE, find, ncc, noise, tone, wait_until

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]


def _started(recorder: Recorder) -> None:
    recorder.start()
    # The first block proves the stream runs; playing before it would cut the head of the signal.
    assert wait_until(lambda: recorder.elapsed > 0.05, timeout=5), "no audio arrived from the virtual microphone"


def _read(path) -> np.ndarray:
    return soundfile.read(str(path), dtype="int16")[0]


def test_the_virtual_microphone_is_the_default_input(mic):
    defaults = [d for d in list_input_devices() if d.is_default]
    assert len(defaults) == 1


def test_recording_matches_the_speech_that_was_played(mic, rec_settings, tmp_path):
    speech = speech_wav(tmp_path / "speech.wav", "Voice memo test: remember to buy milk and call the office.")
    recorder = Recorder(rec_settings)
    _started(recorder)
    assert recorder.state is RecorderState.RECORDING
    mic.play_and_wait(speech)
    time.sleep(0.2)  # the end of the playback reaches the capture stream one pipeline latency later
    result = recorder.stop()

    assert result.ok and result.stop_reason is StopReason.STOPPED
    assert (result.overflows, result.dropped_blocks) == (0, 0)
    assert result.path.exists() and result.path.suffix == ".wav"
    assert not list(rec_settings.audio_dir.glob("*.recording.*")), "in-progress files left after a clean stop"
    recorded, played = _read(result.path), _read(speech)
    offset, similarity = find(recorded, played)
    assert similarity > 0.99, f"recording does not match what was played (ncc {similarity:.4f} at {offset})"
    assert result.frames == len(recorded)
    assert result.duration == pytest.approx(recorder.elapsed, abs=1e-9)
    assert recorder.state is RecorderState.FINISHED


def test_pause_leaves_the_paused_span_out(mic, rec_settings, tmp_path):
    played_wav = write_wav(tmp_path / "noise.wav", noise(3.0))
    played = _read(played_wav)
    recorder = Recorder(rec_settings)
    _started(recorder)
    player = mic.play(played_wav)
    time.sleep(0.8)
    pause_started = time.perf_counter()
    recorder.pause()
    elapsed_at_pause = recorder.elapsed
    time.sleep(0.8)
    elapsed_before_resume = recorder.elapsed
    recorder.resume()
    paused_for = time.perf_counter() - pause_started
    player.wait(timeout=10)
    time.sleep(0.2)
    result = recorder.stop()

    assert elapsed_before_resume - elapsed_at_pause <= 0.021, "elapsed kept counting while paused"
    recorded = _read(result.path)
    n = int(0.2 * RATE)
    # PulseAudio smooths the first ~2.5 ms of a new playback stream, so the head needle starts 10 ms in.
    skip = int(0.01 * RATE)
    head_at, head_match = find(recorded, played[skip : skip + n])
    head_at -= skip
    tail_at, tail_match = find(recorded, played[-n:])
    assert head_match > 0.99 and tail_match > 0.99
    # Everything between the head and the tail was recorded except the paused span.
    gap = (len(played) - n) - (tail_at - head_at)
    assert gap / RATE == pytest.approx(paused_for, abs=0.1)
    # Block by block, the recording is the played audio before the pause and the played audio shifted by the gap
    # after it; only the one block the pause fell into may match neither (the first window is skipped, see above).
    w = int(0.05 * RATE)
    before = after = neither = 0
    for j in range(w, tail_at + n - head_at - w, w):
        window = recorded[head_at + j : head_at + j + w]
        if ncc(window, played[j : j + w]) > 0.99:
            before += 1
        elif j + gap + w <= len(played) and ncc(window, played[j + gap : j + gap + w]) > 0.99:
            after += 1
        else:
            neither += 1
    assert before * w / RATE > 0.55 and after * w / RATE > 1.0 and neither <= 1, (before, after, neither)


def test_level_follows_the_signal(mic, rec_settings, tmp_path):
    tone_wav = write_wav(tmp_path / "tone.wav", tone(1.5, dbfs=-6.0))
    recorder = Recorder(rec_settings)
    _started(recorder)
    silence = recorder.level
    assert silence.peak_dbfs < -60 and silence.rms_dbfs < -60
    player = mic.play(tone_wav)
    assert wait_until(lambda: recorder.level.peak_dbfs > -7.0, timeout=3), "the level never rose with the tone"
    time.sleep(0.05)  # past the block the tone started in (its RMS covers silence too)
    readings = []
    for _ in range(10):
        readings.append(recorder.level)
        time.sleep(0.03)
    player.wait(timeout=10)
    assert wait_until(lambda: recorder.level.peak_dbfs < -60, timeout=3), "the level did not fall back to silence"
    recorder.stop()
    # A sine peaking at -6.02 dBFS has an RMS of -9.03 dBFS.
    for level in readings:
        assert level.peak_dbfs == pytest.approx(-6.02, abs=0.3)
        assert level.rms_dbfs == pytest.approx(-9.03, abs=0.3)


def test_maximum_duration_stops_cleanly_and_keeps_the_audio(mic, rec_settings):
    finished = []
    recorder = Recorder(rec_settings, max_seconds=0.5, on_finished=finished.append)
    path = recorder.start(title="capped")
    result = recorder.wait(timeout=5)
    assert result is not None, "the recorder did not stop at its maximum duration"
    assert result.stop_reason is StopReason.MAX_DURATION and result.error is None
    assert result.frames == int(0.5 * RATE)
    assert "maximum duration" in result.message
    assert recorder.stop() is result
    assert finished == [result] and result.path == path and result.title == "capped"
    assert soundfile.info(str(path)).frames == result.frames


def test_a_recorder_records_once(mic, rec_settings):
    recorder = Recorder(rec_settings, max_seconds=0.1)
    recorder.start()
    recorder.stop()
    with pytest.raises(Exception, match="already been used"):
        recorder.start()


def test_request_stop_returns_at_once_and_the_hook_delivers_the_result(mic, rec_settings):
    """The GUI's way: never wait on the recorder; the result arrives through on_finished (on the writer thread)."""
    finished = []
    recorder = Recorder(rec_settings, on_finished=finished.append)
    recorder.start()
    assert wait_until(lambda: recorder.elapsed > 0.2, timeout=5)
    started = time.perf_counter()
    recorder.request_stop()
    assert time.perf_counter() - started < 0.01
    assert wait_until(lambda: bool(finished), timeout=5)
    assert recorder.stop() is finished[0] and finished[0].stop_reason is StopReason.STOPPED
