"""The pipeline across real processes: the CLI, headless workers, and a worker killed in the middle of an upload."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from memo_desktop.core.library import UploadState
from memo_desktop.core.storage import ObjectStore
from tests.fixtures.audio import write_noise_wav, write_tone
from tests.fixtures.waiting import wait_until
from tests.pipeline.conftest import wait_for_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(ctx) -> dict[str, str]:
    """The test context's settings as a user would give them to a command: MEMO_* environment variables."""
    s = ctx.settings
    return {**os.environ, "MEMO_DATA_DIR": str(s.data_dir), "MEMO_REDIS_URL": s.redis_url,
            "MEMO_S3_ENDPOINT": s.s3_endpoint, "MEMO_S3_ACCESS_KEY": s.s3_access_key,
            "MEMO_S3_BUCKET": s.s3_bucket, "MEMO_S3_REGION": s.s3_region, "MEMO_AUTO_ANALYZE": "false",
            "MEMO_BACKOFF": "1"}


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memo_desktop", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "memo_desktop", "worker", "--queues", "file-upload", *args],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_cli_upload_then_burst_worker_then_status(cli_env, tmp_path):
    source = write_tone(tmp_path / "idea.wav")

    queued = cli(cli_env, "upload", str(source), "--title", "An idea")
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.splitlines()[0]
    memos = json.loads(cli(cli_env, "memos", "--json").stdout)
    assert [(m["title"], m["uploadState"], m["jobId"]) for m in memos] == [("An idea", "queued", job_id)]
    assert Path(memos[0]["audioPath"]).is_file()

    assert cli(cli_env, "worker", "--burst").returncode == 0
    status = json.loads(cli(cli_env, "job", job_id, "--json").stdout)
    assert status["state"] == "completed" and status["progress"] == 100
    assert status["result"]["success"] is True and status["result"]["fileId"] == memos[0]["id"]
    assert json.loads(cli(cli_env, "memos", "--json").stdout)[0]["uploadState"] == "uploaded"


def test_cli_refuses_a_bad_file_with_a_clear_message(cli_env, tmp_path):
    bogus = tmp_path / "voice.wav"
    bogus.write_text("not audio at all")
    result = cli(cli_env, "upload", str(bogus))
    assert result.returncode == 1
    assert "voice.wav" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_worker_killed_mid_upload_then_restarted_uploads_exactly_once(ctx, cli_env, tmp_path):
    source = write_noise_wav(tmp_path / "long.wav", megabytes=300)
    job_id = cli(cli_env, "upload", str(source)).stdout.splitlines()[0]
    memo_id = ctx.library.list()[0].id

    first = start_worker(cli_env)
    try:
        wait_until(lambda: ctx.jobs.status(job_id).progress >= 3, 60, "the upload to be under way")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    assert ctx.jobs.status(job_id).state.value == "active"  # nobody has noticed the death yet

    second = start_worker(cli_env)  # "the app restarted"
    try:
        memo = wait_for_state(ctx, memo_id, UploadState.UPLOADED, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    status = ctx.jobs.status(job_id)
    assert status.state.value == "completed" and status.attempts_made == 2
    assert ctx.object_store.list_keys(ObjectStore.memo_prefix(memo_id)) == [memo.object_key]
    info = ctx.object_store.stat(memo.object_key)
    assert info.size == source.stat().st_size and info.sha256 == memo.sha256
