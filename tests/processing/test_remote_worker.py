"""A headless worker on "another machine" (another data dir) processes a memo the app uploaded; the app picks the
results up. Also the `process` and `transcript` commands, run as the user would."""

from __future__ import annotations

import json

import pytest

from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import Library
from memo_desktop.core.pipeline import queue_process
from memo_desktop.core.processing import load_transcript, pick_up_result
from memo_desktop.core.processing.local_results import transcript_paths
from memo_desktop.core.transcribe import INSTALL_HINT, transcription_available
from tests.processing.conftest import SENTENCE, run_cli
from tests.processing.text_checks import word_error_rate

pytestmark = pytest.mark.skipif(not transcription_available(), reason=f"transcription not installed ({INSTALL_HINT})")


def test_headless_worker_with_another_data_dir(app, speech_48k, tone_file, tmp_path):
    app.start_workers(QueueKind.UPLOAD)  # the app uploads; processing happens elsewhere
    speech = app.add_uploaded(speech_48k)
    tone = app.add_uploaded(tone_file)
    jobs = {"transcribe": queue_process(app.ctx, speech.id, "transcribe"),
            "analyze": queue_process(app.ctx, tone.id, "analyze"),
            "compress": queue_process(app.ctx, tone.id, "compress", {"format": "opus"})}

    other = tmp_path / "other-machine"
    worker = run_cli(app.ctx.settings, "worker", "--queues", "file-process", "--burst", data_dir=other)
    assert worker.returncode == 0, worker.stdout + worker.stderr

    results = {}
    for operation, job_id in jobs.items():
        info = app.ctx.jobs.status(job_id)
        assert info.state is JobState.COMPLETED, f"{operation}: {info.error}"
        assert info.result["libraryUpdated"] is False  # the worker's library has no such memo
        results[operation] = info.result
    assert Library(other / "library.sqlite3", other / "audio").count() == 0
    assert not list((other / "tmp").iterdir()), "the worker left job workspaces behind"

    # nothing reached the app's library yet...
    assert app.ctx.library.get(speech.id).transcript == ""
    assert app.ctx.library.get(tone.id).analysis == {} and app.ctx.library.get(tone.id).variants == ()
    # ...until the app takes in the completed jobs' results (what its monitor does when it sees them complete)
    for result in results.values():
        assert pick_up_result(app.ctx, result)
    assert word_error_rate(SENTENCE, app.ctx.library.get(speech.id).transcript) <= 0.15
    assert app.ctx.library.get(tone.id).analysis["duration"] == pytest.approx(2.0, abs=1e-3)
    variant = app.ctx.library.get(tone.id).variant("opus")
    assert variant is not None and variant.path.is_file() and variant.size == results["compress"]["variant"]["size"]
    assert transcript_paths(app.ctx.library, speech.id)["srt"].is_file()
    transcript = app.ctx.library.get(speech.id).transcript
    assert pick_up_result(app.ctx, results["compress"]) and pick_up_result(app.ctx, results["transcribe"])  # again
    assert app.ctx.library.get(speech.id).transcript == transcript
    assert not pick_up_result(app.ctx, {**results["analyze"], "fileId": "someone-elses-memo"})


def test_transcript_command_reads_the_store_when_the_library_has_none(app, speech_48k, tmp_path):
    app.start_workers(QueueKind.UPLOAD)
    memo = app.add_uploaded(speech_48k)
    job_id = queue_process(app.ctx, memo.id, "transcribe")
    worker = run_cli(app.ctx.settings, "worker", "--queues", "file-process", "--burst",
                     data_dir=tmp_path / "elsewhere")
    assert worker.returncode == 0, worker.stderr
    assert app.ctx.jobs.status(job_id).state is JobState.COMPLETED

    # a machine with neither the memo nor the transcript: read straight from the store
    bystander = run_cli(app.ctx.settings, "transcript", memo.id, "--format", "srt", data_dir=tmp_path / "bystander")
    assert bystander.returncode == 0, bystander.stderr
    assert bystander.stdout.startswith("1\n00:00:00,000 --> ")

    # the app's own data dir: fetched from the store once, then kept with the memo (and searchable)
    owner = run_cli(app.ctx.settings, "transcript", memo.id, data_dir=app.ctx.settings.data_dir)
    assert owner.returncode == 0, owner.stderr
    assert word_error_rate(SENTENCE, owner.stdout) <= 0.15, owner.stdout
    assert transcript_paths(app.ctx.library, memo.id)["json"].is_file()
    assert app.ctx.library.list(search="design team")[0].id == memo.id
    assert load_transcript(app.ctx, memo.id).text == app.ctx.library.get(memo.id).transcript

    as_json = run_cli(app.ctx.settings, "transcript", memo.id, "--format", "json")
    exported = json.loads(as_json.stdout)
    assert exported["language"] == "en" and exported["languageProbability"] is None
    words = [w for segment in exported["segments"] for w in segment["words"]]
    assert word_error_rate(SENTENCE, " ".join(w["word"] for w in words)) <= 0.15
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and all(0 <= w["start"] <= w["end"] <= exported["duration"] for w in words)
    # the owner took the language in with the transcript
    assert app.ctx.library.get(memo.id).transcript_language == "en"


def test_process_command_queues_and_prints_the_job_id(app, tone_file, tmp_path):
    app.start_workers(QueueKind.UPLOAD)
    memo = app.add_uploaded(tone_file)
    done = run_cli(app.ctx.settings, "process", memo.id, "compress", "--format", "flac")
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    assert job_id.startswith(f"process-compress-{memo.id}-")
    assert app.ctx.jobs.status(job_id).payload["options"] == {"format": "flac"}

    wrong_model = run_cli(app.ctx.settings, "process", memo.id, "transcribe",
                          env={"MEMO_TRANSCRIBE_MODEL": str(tmp_path / "no-such-model")})
    assert wrong_model.returncode == 1 and wrong_model.stdout == "", "nothing is queued with a wrong model path"
    assert "setting 'transcribe_model'" in wrong_model.stderr and "does not exist" in wrong_model.stderr

    no_transcript = run_cli(app.ctx.settings, "transcript", memo.id)
    assert no_transcript.returncode == 1
    assert f"memo {memo.id} has no transcript yet" in no_transcript.stderr
