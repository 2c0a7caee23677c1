"""Processing fixtures: real Redis, a real object store (weed mini), real worker pools, real speech and tones.

Speech is made once per session with espeak-ng + sox (Debian packages; the tests skip without them). The sentence
was chosen because the tiny.en model hears it well when espeak-ng says it at 140 words per minute; the tests
check the transcription against it with a word error rate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from memo_desktop.core.config import Settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.client import JobStatusInfo
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.pipeline import add_memo
from memo_desktop.core.workers.pool import WorkerPool
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.fixtures.audio import write_tone  # noqa: F401 (the tests here import it from this conftest)
from tests.fixtures.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
SENTENCE = "The meeting with the design team moved to Thursday afternoon at three in the main conference room."
SPEECH_WPM = 140
FINISHED = (JobState.COMPLETED, JobState.FAILED)


def make_speech(path: Path, text: str, rate: int, voice: str = "en") -> Path:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"'{tool}' is not installed (Debian packages espeak-ng and sox)")
    raw = path.with_name(path.stem + ".espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(SPEECH_WPM), "-w", str(raw), text], check=True,
                   capture_output=True, timeout=30)
    # a little quieter: espeak's loudest German syllables clip when resampled at full scale
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path), "gain", "-1"], check=True,
                   capture_output=True, timeout=30)
    raw.unlink()
    return path


@pytest.fixture(scope="session")
def speech_48k(tmp_path_factory) -> Path:
    return make_speech(tmp_path_factory.mktemp("speech") / "speech-48k.wav", SENTENCE, 48000)


@pytest.fixture(scope="session")
def speech_16k(tmp_path_factory) -> Path:
    return make_speech(tmp_path_factory.mktemp("speech") / "speech-16k.wav", SENTENCE, 16000)


@pytest.fixture
def tone_file(tmp_path) -> Path:
    return write_tone(tmp_path / "tone.wav", 2.0)


@pytest.fixture
def proc_settings(s3_settings: Settings) -> Settings:
    """The session Redis and object store; follow-ups off (each test queues what it checks), quick retries."""
    return s3_settings.replace(auto_analyze=False, auto_compress=False, auto_transcribe=False, backoff=1.0,
                               rate_limit=0, concurrency=2, transcribe_threads=2)


class App:
    """One AppContext with its worker pool, as the desktop app runs it; stopped after the test."""

    def __init__(self, settings: Settings) -> None:
        self.ctx = AppContext(settings)
        self.pool: WorkerPool | None = None

    def start_workers(self, *kinds: QueueKind) -> WorkerPool:
        self.pool = start_worker_pool(self.ctx, WorkerPlan(kinds or tuple(QueueKind), concurrency=2))
        return self.pool

    def add_uploaded(self, path: Path, timeout: float = 30.0) -> Memo:
        """Import a file and wait for its upload (workers on the upload queue must be running)."""
        memo = add_memo(self.ctx, path).memo
        return wait_until(lambda: self._uploaded(memo.id), timeout, f"upload of memo {memo.id}")

    def _uploaded(self, memo_id: str) -> Memo | None:
        memo = self.ctx.library.get(memo_id)
        assert memo.upload_state is not UploadState.FAILED, memo.upload_error
        return memo if memo.upload_state is UploadState.UPLOADED else None

    def wait_finished(self, job_id: str, timeout: float = 60.0) -> JobStatusInfo:
        return wait_until(lambda: self._finished(job_id), timeout, f"job {job_id} to finish")

    def _finished(self, job_id: str) -> JobStatusInfo | None:
        info = self.ctx.jobs.status(job_id)
        return info if info.state in FINISHED else None

    def close(self) -> None:
        if self.pool is not None:
            assert self.pool.stop(timeout=30), "the worker pool did not stop in time"
        self.ctx.close()


@pytest.fixture
def make_app(proc_settings) -> Iterator[Callable[..., App]]:
    """App factory: `make_app(auto_analyze=True)` changes settings; every app is stopped after the test."""
    made: list[App] = []

    def make(**changes: Any) -> App:
        made.append(App(proc_settings.replace(**changes)))
        return made[-1]

    yield make
    for each in reversed(made):
        each.close()


@pytest.fixture
def app(make_app) -> App:
    return make_app()


def worker_environment(settings: Settings) -> dict[str, str]:
    """What a headless worker on another machine would be given: store settings and credentials in the env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    env.update({"MEMO_S3_ACCESS_KEY": settings.s3_access_key, "MEMO_S3_SECRET_KEY": os.environ["MEMO_S3_SECRET_KEY"],
                "MEMO_S3_BUCKET": settings.s3_bucket, "MEMO_S3_REGION": settings.s3_region,
                "MEMO_TRANSCRIBE_THREADS": "2",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
    return env


def run_cli(settings: Settings, *args: str, data_dir: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120.0) -> subprocess.CompletedProcess:
    """`memo-desktop --data-dir ... --redis-url ... --s3-endpoint ... <args>` as a user (or a service) runs it."""
    argv = [sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir or settings.data_dir),
            "--redis-url", settings.redis_url, "--s3-endpoint", settings.s3_endpoint, *args]
    return subprocess.run(argv, cwd=REPO, env={**worker_environment(settings), **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)
