"""The HTTP API in the CLI's shapes, job search and paging, actions, and uploads (good, empty, huge, not audio)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.library import UploadState
from memo_desktop.core.runtime import WorkerPlan
from tests.core.conftest import REPO, job
from tests.fixtures.audio import write_tone
from tests.fixtures.waiting import wait_until
from tests.fixtures.web import WebRuntime

QUEUE = "file-process"


def run_jobs(web, *specs: tuple[str, dict, str]) -> list[str]:
    ids = [web.ctx.jobs.enqueue_function(QUEUE, job(name), payload, title=title) for name, payload, title in specs]
    wait_until(lambda: all(web.ctx.jobs.status(i).state.value in ("completed", "failed") for i in ids), 20,
               "the jobs to end")
    return ids


def test_health_is_the_cli_shape_with_alerts(web, web_settings):
    api = web.client().get("/api/queue/health").json()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    cli = subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(web_settings.data_dir),
                          "--redis-url", web_settings.redis_url, "health", "--json"], cwd=REPO, env=environ,
                         capture_output=True, text=True, timeout=30)
    assert json.loads(cli.stdout)["queues"] == api["queues"]
    assert set(api) >= {"redis", "queues", "workers", "alerts"} and api["alerts"] == []
    assert set(api["queues"]) == {"fileUpload", "fileProcess", "fileDelete"}


def test_job_status_and_unknown_job(web):
    done, = run_jobs(web, ("echo", {"value": 7}, "A title"))
    status = web.client().get(f"/api/queue/job/{done}").json()
    assert (status["jobId"], status["state"], status["progress"], status["result"]) == (done, "completed", 100,
                                                                                        {"echo": 7})
    assert status == web.ctx.jobs.status(done).as_dict() | {"enqueuedAt": status["enqueuedAt"]}
    missing = web.client().get("/api/queue/job/no-such-job")
    assert missing.status_code == 404 and "no-such-job" in missing.json()["error"]


def test_search_by_id_title_and_error_and_paging(web):
    ok, bad, other = run_jobs(web, ("echo", {}, "Budget meeting"), ("fail", {"message": "disk quota exceeded"},
                                                                    "Standup"), ("echo", {}, "Lunch"))
    client = web.client()

    def ids(**params) -> list[str]:
        return [j["jobId"] for j in client.get("/api/queue/jobs", params=params).json()["jobs"]]

    assert ids(q="budget") == [ok]
    assert ids(q="QUOTA") == [bad]
    assert ids(q=other[:12]) == [other]
    assert ids(q="nothing matches this") == []
    page = client.get("/api/queue/jobs", params={"queue": QUEUE, "state": "completed", "pageSize": 1}).json()
    assert page["total"] == 2 and len(page["jobs"]) == 1
    second = client.get("/api/queue/jobs", params={"queue": QUEUE, "state": "completed", "pageSize": 1,
                                                   "page": 2}).json()
    assert {page["jobs"][0]["jobId"], second["jobs"][0]["jobId"]} == {ok, other}
    failed = client.get("/api/queue/jobs", params={"state": "failed"}).json()["jobs"]
    assert [(j["title"], j["failedReason"]) for j in failed] == [("Standup", "RuntimeError: disk quota exceeded")]
    assert client.get("/api/queue/jobs", params={"state": "bogus"}).status_code == 400
    assert client.get("/api/queue/jobs", params={"queue": "nope"}).status_code == 400


def test_retry_remove_pause_resume_clean(web):
    done, bad = run_jobs(web, ("echo", {}, "done"), ("fail_permanently", {}, "broken"))
    client = web.client()
    assert client.post(f"/api/queue/job/{bad}/retry").json() == {"success": True, "jobId": bad}
    wait_until(lambda: web.ctx.jobs.status(bad).attempts_made == 1 and web.ctx.jobs.status(bad).state.value ==
               "failed", 20, "the retried job to fail again")
    assert client.delete(f"/api/queue/job/{bad}").json()["success"]
    assert client.get(f"/api/queue/job/{bad}").status_code == 404
    assert client.post(f"/api/queue/{QUEUE}/pause").json()["paused"] is True
    assert QUEUE in web.ctx.jobs.paused_queues()
    assert client.post(f"/api/queue/{QUEUE}/resume").json()["paused"] is False
    assert client.post(f"/api/queue/{QUEUE}/clean").json()["removed"] == 1
    assert client.get(f"/api/queue/job/{done}").status_code == 404
    assert client.post("/api/queue/no-such-queue/pause").status_code == 400


@pytest.fixture
def upload_web(web_settings):
    """Workers for this device's uploads, with the object store watched (uploads need it)."""
    made = WebRuntime(web_settings.replace(upload_max_bytes=200_000),
                      workers=WorkerPlan(kinds=(QueueKind.UPLOAD,), concurrency=1), needs_store=True)
    yield made
    made.stop()


def uploads_left(web) -> list:
    folder = web.ctx.settings.data_dir / "uploads"
    return list(folder.iterdir()) if folder.exists() else []


def test_upload_of_a_good_file_queues_it_and_it_is_uploaded(upload_web, tmp_path):
    wav = write_tone(tmp_path / "Interview.wav", seconds=1.0)
    with wav.open("rb") as fh:
        response = upload_web.client().post("/api/files/upload-async", files={"file": ("Interview.wav", fh)},
                                            data={"title": "<b>Interview</b> with Ana", "memoId": "memo-api-1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["memoId"] == "memo-api-1" and body["jobId"]
    assert "upload queued" in body["message"]
    memo = upload_web.ctx.library.get("memo-api-1")
    assert memo.title == "<b>Interview</b> with Ana"
    wait_until(lambda: upload_web.ctx.library.get("memo-api-1").upload_state is UploadState.UPLOADED, 30,
               "the upload")
    status = upload_web.client().get(f"/api/queue/job/{body['jobId']}").json()
    assert status["title"] == "<b>Interview</b> with Ana"
    assert uploads_left(upload_web) == []


@pytest.mark.parametrize("name, content, status, words", [
    ("empty.wav", b"", 400, "empty"),
    ("notes.wav", b"this is text, not audio\n" * 100, 415, "not an audio file"),
    ("huge.wav", b"\0" * 300_000, 413, "upload limit"),
])
def test_bad_uploads_are_refused_and_leave_nothing_behind(upload_web, name, content, status, words):
    response = upload_web.client().post("/api/files/upload-async", files={"file": (name, content)})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and words in body["error"]
    assert ".upload-" not in body["error"]  # the client's name, never our temp path
    assert upload_web.ctx.library.list() == []
    assert uploads_left(upload_web) == []
    audio = upload_web.ctx.settings.audio_dir
    assert not audio.exists() or list(audio.iterdir()) == []


def test_an_upload_over_the_limit_without_a_length_is_cut_off_while_streaming(upload_web):
    def chunks():
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
        for _ in range(40):
            yield b"\0" * 10_000
        yield b"\r\n--xyz--\r\n"

    response = upload_web.client().post("/api/files/upload-async", content=chunks(),
                                        headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 413
    assert uploads_left(upload_web) == [] and upload_web.ctx.library.list() == []


def test_a_request_that_is_not_a_form_is_refused(upload_web):
    response = upload_web.client().post("/api/files/upload-async", json={"file": "x"})
    assert response.status_code == 400 and "multipart/form-data" in response.json()["error"]
    assert upload_web.client().post("/api/files/upload-async", files={"other": ("a", b"b")}).status_code == 400


def test_openapi_describes_the_api_behind_the_token(web):
    spec = web.client().get("/openapi.json").json()
    for path in ("/api/queue/health", "/api/queue/job/{job_id}", "/api/files/upload-async", "/api/queue/jobs",
                 "/api/queue/events", "/api/webhooks", "/metrics"):
        assert path in spec["paths"], path
    assert web.client(token=None).get("/openapi.json").status_code == 401


def test_events_stream_sends_counts_then_job_events(web):
    with web.client().stream("GET", "/api/queue/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        seen: list[str] = []
        job_id = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                seen.append(line[7:])
                if job_id is None and "counts" in seen:
                    job_id = web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {})
            if line.startswith("data: ") and job_id and job_id in line and '"completed"' in line:
                break
    assert seen[0] == "counts" and "jobs" in seen
