"""The faster-whisper engine on real speech, and the setup checks that run before any job (no services)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import soundfile

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import BadProcessOptions, ConfigError, TranscriptionUnavailable
from memo_desktop.core.transcribe import (INSTALL_HINT, FasterWhisperEngine, WhisperOptions,
                                          check_transcription_setup, create_engine, transcription_available)
from memo_desktop.core.transcribe import setup as transcribe_setup
from tests.processing.conftest import SENTENCE, make_speech
from tests.processing.text_checks import word_error_rate

pytestmark = pytest.mark.skipif(not transcription_available(), reason=f"transcription not installed ({INSTALL_HINT})")


@pytest.fixture
def plain_settings(data_dir) -> Settings:
    return Settings(data_dir=data_dir, transcribe_threads=2)


def test_packaged_tiny_en_transcribes_speech(plain_settings, speech_16k):
    seen: list[float] = []
    transcript = create_engine(plain_settings).transcribe(speech_16k, progress=seen.append)
    assert word_error_rate(SENTENCE, transcript.text) <= 0.15, transcript.text
    assert transcript.language == "en" and transcript.duration == pytest.approx(6.2, abs=0.5)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    for segment in transcript.segments:
        assert 0.0 <= segment.start <= segment.end <= transcript.duration


SECOND_SENTENCE = "Please remember to call the doctor tomorrow morning about the results of the blood test."


def test_long_audio_is_transcribed_in_pieces_cut_at_a_pause(plain_settings, tmp_path):
    """Two sentences with a one-second pause, fed to the model in pieces of at most 8 s: the cut falls in the pause,
    nothing is lost or repeated, and the second sentence's timestamps are offset by where its piece starts."""
    first = make_speech(tmp_path / "first.wav", SENTENCE, 16000)
    second = make_speech(tmp_path / "second.wav", SECOND_SENTENCE, 16000)
    a, rate = soundfile.read(str(first), dtype="float32")
    b, _ = soundfile.read(str(second), dtype="float32")
    both = tmp_path / "both.wav"
    soundfile.write(str(both), np.concatenate([a, np.zeros(rate, dtype=np.float32), b]), rate, subtype="PCM_16")
    pause_start, pause_end = len(a) / rate, len(a) / rate + 1.0

    options = dataclasses.replace(WhisperOptions.from_settings(plain_settings), piece_seconds=8.0)
    seen: list[float] = []
    transcript = FasterWhisperEngine(options).transcribe(both, progress=seen.append)
    assert word_error_rate(f"{SENTENCE} {SECOND_SENTENCE}", transcript.text) <= 0.15, transcript.text
    assert transcript.duration == pytest.approx(soundfile.info(str(both)).duration, abs=0.01)
    later = [s for s in transcript.segments if s.start >= pause_start - 0.2]
    assert later and later[0].start >= pause_start - 0.2 and "doctor" in " ".join(s.text for s in later).lower()
    assert all(s.end <= pause_end + 0.2 for s in transcript.segments if s not in later)
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and seen == sorted(seen) and seen[-1] == 1.0


def test_setup_reports_the_packaged_model(plain_settings):
    setup = check_transcription_setup(plain_settings)
    assert setup.available and (setup.model_path / "model.bin").is_file()


def test_a_wrong_model_path_is_a_config_error_before_any_job(plain_settings, tmp_path):
    with pytest.raises(ConfigError, match="transcribe_model.*does not exist"):
        check_transcription_setup(plain_settings.replace(transcribe_model=str(tmp_path / "nowhere")))
    half_model = tmp_path / "half"
    half_model.mkdir()
    (half_model / "model.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="lacks config.json, tokenizer.json"):
        check_transcription_setup(plain_settings.replace(transcribe_model=str(half_model)))
    # in a job the same problem is permanent: TranscriptionUnavailable, never retried
    with pytest.raises(TranscriptionUnavailable, match="does not exist"):
        create_engine(plain_settings.replace(transcribe_model=str(tmp_path / "nowhere")))


def test_a_copied_model_dir_can_be_configured(plain_settings, tmp_path):
    packaged = check_transcription_setup(plain_settings).model_path
    copy = tmp_path / "my-model"
    copy.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(packaged / name, copy / name)
    (copy / "model.bin").symlink_to(packaged / "model.bin")
    setup = check_transcription_setup(plain_settings.replace(transcribe_model=str(copy)))
    assert setup.available and setup.model_path == copy
    assert transcription_available(plain_settings.replace(transcribe_model=str(copy)))
    assert not transcription_available(plain_settings.replace(transcribe_model=str(tmp_path / "gone")))


def test_without_faster_whisper_nothing_breaks_and_the_message_says_what_to_install(plain_settings, monkeypatch):
    monkeypatch.setattr(transcribe_setup, "engine_importable", lambda: False)
    assert not transcription_available()
    setup = check_transcription_setup(plain_settings)
    assert not setup.available and INSTALL_HINT in setup.reason
    with pytest.raises(TranscriptionUnavailable, match=r"install memo-desktop\[transcribe\]"):
        create_engine(plain_settings)


def test_job_options_are_checked(plain_settings):
    with pytest.raises(BadProcessOptions, match="unknown transcribe option"):
        create_engine(plain_settings, {"model": "large"})
    with pytest.raises(BadProcessOptions, match="beamSize"):
        create_engine(plain_settings, {"beamSize": 0})
    engine = create_engine(plain_settings, {"language": "", "beamSize": 1, "vad": True})
    assert engine.options.language is None and engine.options.beam_size == 1 and engine.options.vad
