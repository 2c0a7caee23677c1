"""file-process jobs end to end: real Redis, a real object store (weed mini), real worker pools in this process.

    upload (file-upload worker) -> process job (file-process worker) -> results in the store, the library, the disk
"""

from __future__ import annotations

import json

import pytest
import soundfile

from memo_desktop.core.audio import decoded_duration
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.pipeline import queue_process
from memo_desktop.core.processing.local_results import transcript_paths
from memo_desktop.core.transcribe import INSTALL_HINT, transcription_available
from memo_desktop.core.transcribe import setup as transcribe_setup
from tests.processing.conftest import SENTENCE, wait_until
from tests.processing.text_checks import assert_times_increase, parse_srt, parse_vtt, word_error_rate

needs_transcription = pytest.mark.skipif(not transcription_available(),
                                         reason=f"transcription not installed ({INSTALL_HINT})")


def read_object(app, key: str, tmp_path) -> bytes:
    return app.ctx.object_store.download(key, tmp_path / "fetched" / key.replace("/", "_")).read_bytes()


def assert_no_workspace_left(app) -> None:
    tmp = app.ctx.settings.data_dir / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), f"job workspaces left behind: {list(tmp.iterdir())}"


def test_analyze_is_queued_after_upload_and_measures_the_tone(make_app, tone_file, tmp_path):
    app = make_app(auto_analyze=True)  # the default setting: analyze every upload
    app.start_workers()
    memo = app.add_uploaded(tone_file)
    analyzed = wait_until(lambda: app.ctx.library.get(memo.id).analysis, 30, "the automatic analysis")
    assert analyzed["duration"] == pytest.approx(2.0, abs=1e-3)
    assert analyzed["peakDbfs"] == pytest.approx(-6.0, abs=0.5)
    assert analyzed["rmsDbfs"] == pytest.approx(-9.01, abs=0.5)
    assert (analyzed["sampleRate"], analyzed["channels"], analyzed["format"]) == (48000, 1, "WAV")
    stored = json.loads(read_object(app, f"memos/{memo.id}/analysis.json", tmp_path))
    assert stored == analyzed
    assert_no_workspace_left(app)


@needs_transcription
def test_transcribe_through_the_queue(app, speech_48k, tmp_path):
    app.start_workers()
    memo = app.add_uploaded(speech_48k)
    job_id = queue_process(app.ctx, memo.id, "transcribe")
    info = app.wait_finished(job_id)
    assert info.state is JobState.COMPLETED, info.error
    assert info.progress == 100 and info.attempts_made == 1
    result = info.result
    assert result["libraryUpdated"] and result["language"] == "en" and result["segments"] >= 1
    assert word_error_rate(SENTENCE, result["text"]) <= 0.15, result["text"]

    # the library: searchable text
    memo = app.ctx.library.get(memo.id)
    assert word_error_rate(SENTENCE, memo.transcript) <= 0.15
    assert memo.transcript_language == "en" and memo.transcript_language_probability is None  # tiny.en: English
    assert [m.id for m in app.ctx.library.list(search="conference room")] == [memo.id]

    # next to the audio, and in the store next to the original
    local = transcript_paths(app.ctx.library, memo.id)
    assert local["srt"] == app.ctx.library.audio_dir / f"{memo.id}.srt"
    for fmt, key in result["objectKeys"].items():
        assert key == f"memos/{memo.id}/transcript.{fmt}"
        assert read_object(app, key, tmp_path).decode() == local[fmt].read_text()
    srt_cues, vtt_cues = parse_srt(local["srt"].read_text()), parse_vtt(local["vtt"].read_text())
    assert_times_increase(srt_cues)
    assert_times_increase(vtt_cues)
    assert [c.text for c in srt_cues] == [c.text for c in vtt_cues]
    assert srt_cues[-1].end <= soundfile.info(str(speech_48k)).duration + 0.01
    exported = json.loads(local["json"].read_text())
    assert exported["segments"][0]["start"] == srt_cues[0].start and exported["model"] == "tiny.en"
    words = [w for segment in exported["segments"] for w in segment["words"]]
    assert word_error_rate(SENTENCE, " ".join(w["word"] for w in words)) <= 0.15
    assert all(set(w) == {"word", "start", "end"} and w["start"] <= w["end"] for w in words)
    assert_no_workspace_left(app)


@pytest.mark.parametrize("fmt, extension", [("flac", "flac"), ("opus", "opus")])
def test_compress_variants_decode_to_the_right_duration(app, tone_file, tmp_path, fmt, extension):
    app.start_workers()
    memo = app.add_uploaded(tone_file)
    info = app.wait_finished(queue_process(app.ctx, memo.id, "compress", {"format": fmt}))
    assert info.state is JobState.COMPLETED, info.error
    variant = info.result["variant"]
    assert variant["objectKey"] == f"memos/{memo.id}/compressed.{extension}"
    assert variant["duration"] == pytest.approx(2.0, abs=0.002) and info.result["originalKept"]

    recorded = app.ctx.library.get(memo.id).variant(fmt)
    assert recorded is not None and recorded.object_key == variant["objectKey"]
    assert recorded.path == app.ctx.library.audio_dir / f"{memo.id}.compressed.{extension}"
    assert recorded.size == recorded.path.stat().st_size == variant["size"]
    assert decoded_duration(recorded.path) == pytest.approx(2.0, abs=0.002)
    remote = tmp_path / f"remote.{extension}"
    remote.write_bytes(read_object(app, variant["objectKey"], tmp_path))
    assert decoded_duration(remote) == pytest.approx(2.0, abs=0.002)
    assert app.ctx.object_store.exists(memo.object_key), "the original stays in the store"
    assert memo.audio_path.exists(), "the local original is never removed"
    assert_no_workspace_left(app)


def test_compress_without_keep_original_replaces_the_remote_original(make_app, tone_file):
    app = make_app(keep_original=False)
    app.start_workers()
    memo = app.add_uploaded(tone_file)
    info = app.wait_finished(queue_process(app.ctx, memo.id, "compress", {"format": "flac"}))
    assert info.state is JobState.COMPLETED, info.error
    assert info.result["originalKept"] is False
    assert not app.ctx.object_store.exists(memo.object_key), "the remote original is replaced"
    assert app.ctx.library.get(memo.id).object_key == info.result["variant"]["objectKey"]
    assert app.ctx.object_store.exists(info.result["variant"]["objectKey"])
    assert memo.audio_path.exists(), "the local original is never removed"


def test_a_corrupt_object_fails_once_with_the_reason(app, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF? no: a text file that claims to be a recording\n" * 40)
    app.ctx.object_store.upload(junk, "memos/corruptmemo/0123456789abcdef.wav", content_type="audio/wav")
    app.start_workers(QueueKind.PROCESS)
    job_id = app.ctx.jobs.enqueue(QueueKind.PROCESS, {"fileId": "corruptmemo", "operation": "analyze",
                                                      "s3Key": "memos/corruptmemo/0123456789abcdef.wav",
                                                      "mimeType": "audio/wav"})
    info = app.wait_finished(job_id)
    assert info.state is JobState.FAILED
    assert info.attempts_made == 1 and info.attempts == 3, "a corrupt file is not retried"
    assert "CorruptAudio: memo corruptmemo: 0123456789abcdef.wav: not audio this app can read" in info.error
    assert_no_workspace_left(app)


def test_a_missing_object_fails_once(app):
    app.start_workers(QueueKind.PROCESS)
    job_id = app.ctx.jobs.enqueue(QueueKind.PROCESS, {"fileId": "gonememo", "operation": "compress",
                                                      "s3Key": "memos/gonememo/0123456789abcdef.wav",
                                                      "mimeType": "audio/wav"})
    info = app.wait_finished(job_id)
    assert info.state is JobState.FAILED and info.attempts_made == 1
    assert "SourceMissing" in info.error and "is not in the object store" in info.error


def test_bad_options_fail_once_before_downloading(app, tone_file):
    app.start_workers()
    memo = app.add_uploaded(tone_file)
    info = app.wait_finished(queue_process(app.ctx, memo.id, "compress", {"format": "mp3"}))
    assert info.state is JobState.FAILED and info.attempts_made == 1
    assert "compress option 'format' must be flac or opus" in info.error


def test_without_faster_whisper_transcribe_fails_at_once(app, tone_file, monkeypatch):
    monkeypatch.setattr(transcribe_setup, "engine_importable", lambda: False)
    app.start_workers()
    memo = app.add_uploaded(tone_file)
    info = app.wait_finished(queue_process(app.ctx, memo.id, "transcribe"))
    assert info.state is JobState.FAILED and info.attempts_made == 1
    assert "TranscriptionUnavailable" in info.error and "install memo-desktop[transcribe]" in info.error
    assert not (app.ctx.settings.data_dir / "tmp").exists(), "it failed before downloading anything"
