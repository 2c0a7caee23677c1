"""Fixtures for the queue tests: settings that load the test job functions, worker pools in this process and
headless `memo-desktop worker` processes, all stopped (or killed) after each test.

Timing tests wait on visible state (job status, Redis log lists) with `wait_until`, never on fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from memo_desktop.core.config import Settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.client import JobQueue
from memo_desktop.core.workers import thread_worker
from memo_desktop.core.workers.pool import WorkerPool
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from memo_desktop.core.services import ObjectStoreServer, RedisServer
from tests.fixtures import jobs as fixture_jobs
from tests.fixtures.waiting import wait_until  # noqa: F401 (the tests here import it from this conftest)

REPO = Path(__file__).resolve().parents[2]
JOBS = fixture_jobs.MODULE  # "tests.fixtures.jobs"
QUEUE = "file-process"      # a queue every worker serves, whatever the device


def job(name: str) -> str:
    """The dotted name of a test job function."""
    return f"{JOBS}.{name}"


@dataclass(frozen=True)
class LogEntry:
    tag: str
    event: str
    time: float
    pid: int


def read_log(conn: redis.Redis, key: str) -> list[LogEntry]:
    """The entries the fixture jobs appended to the Redis list `key` (`<tag> <event> <time> <pid>`)."""
    entries = []
    for raw in conn.lrange(key, 0, -1):
        tag, event, stamp, pid = raw.decode().split(" ")
        entries.append(LogEntry(tag, event, float(stamp), int(pid)))
    return entries


def state_of(jobs: JobQueue, job_id: str) -> str:
    return jobs.status(job_id).state.value


@pytest.fixture(autouse=True)
def _quick_idle_polls(monkeypatch):
    """In-process workers wait for a job 0.25 s at a time instead of 1 s, so stopping a pool after each test takes
    ~0.25 s. Headless worker processes keep the real value (their tests cover it)."""
    monkeypatch.setattr(thread_worker, "POLL_SECONDS", 0.25)


@pytest.fixture
def queue_settings(settings: Settings) -> Settings:
    """The session Redis, the test job functions loadable by workers, no rate limit (tests that need one set it)."""
    return settings.replace(job_modules=(JOBS,), rate_limit=0)


@pytest.fixture
def make_context(queue_settings):
    """AppContext factory (closed after the test); `make_context(rate_limit=5)` changes settings."""
    made: list[AppContext] = []

    def make(**changes: Any) -> AppContext:
        ctx = AppContext(queue_settings.replace(**changes) if changes else queue_settings)
        made.append(ctx)
        return ctx

    yield make
    for ctx in reversed(made):
        ctx.close()


@pytest.fixture
def ctx(make_context) -> AppContext:
    return make_context()


@pytest.fixture
def start_pool():
    """Start a worker pool on a context; every pool is stopped after the test (and must stop in time)."""
    pools: list[WorkerPool] = []

    def start(context: AppContext, **kwargs: Any) -> WorkerPool:
        if "kinds" in kwargs:
            kwargs["kinds"] = tuple(kwargs["kinds"])
        pool = start_worker_pool(context, WorkerPlan(**kwargs))
        pools.append(pool)
        return pool

    yield start
    for pool in pools:
        pool.stop(timeout=10)


class WorkerProcess:
    """A headless `memo-desktop worker` subprocess with the test job functions loaded; output goes to a file."""

    def __init__(self, popen: subprocess.Popen, name: str, log_path: Path, data_dir: Path) -> None:
        self.popen = popen
        self.name = name
        self.log_path = log_path
        self.data_dir = data_dir

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_started(self, timeout: float = 15.0) -> None:
        """Wait for the banner the worker prints once it runs (its signal handlers are set before it)."""
        def started() -> bool:
            if self.popen.poll() is not None:
                pytest.fail(f"worker {self.name} exited with {self.popen.returncode}:\n{self.output()}")
            return "memo-desktop worker" in self.output()

        wait_until(started, timeout, message=f"worker {self.name} to start")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)


@pytest.fixture
def worker_process(redis_url, tmp_path, object_store_server):
    """Start `memo-desktop worker` subprocesses; any still running after the test is SIGKILLed and reaped. They use
    the session object store as an external endpoint (a worker checks its store at start)."""
    server, address = object_store_server
    credentials = server.credentials()
    procs: list[WorkerProcess] = []

    def start(name: str, *args: str, url: str | None = None, env: dict[str, str] | None = None,
              data_dir: Path | None = None, embedded_redis: bool = False) -> WorkerProcess:
        """`url` defaults to the session Redis; `embedded_redis` lets the worker start or reuse its own; `env`
        overrides the environment (e.g. another MEMO_S3_ENDPOINT)."""
        directory = data_dir or tmp_path / f"worker-{name}"
        directory.mkdir(exist_ok=True)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
        environ.update({"MEMO_JOB_MODULES": JOBS, "MEMO_RATE_LIMIT": "0",
                        "MEMO_S3_ENDPOINT": address, "MEMO_S3_ACCESS_KEY": credentials.access_key,
                        "MEMO_S3_SECRET_KEY": credentials.secret_key, "MEMO_S3_REGION": server.region,
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))})
        environ.update(env or {})
        redis_args = [] if embedded_redis else ["--redis-url", url or redis_url]
        argv = [sys.executable, "-m", "memo_desktop", "--data-dir", str(directory), *redis_args,
                "worker", "--name", name, *args]
        log_path = tmp_path / f"worker-{name}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(argv, cwd=REPO, env=environ, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT)
        proc = WorkerProcess(popen, name, log_path, directory)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop_worker_process(proc)


def stop_worker_process(proc: WorkerProcess) -> None:
    """SIGTERM (the worker then releases its embedded services), SIGKILL if it does not end; then stop whatever
    embedded service a killed worker left running in its data dir: by design those outlive a SIGKILLed owner (the
    next start reuses them), but a test's data dir has no next start."""
    if proc.popen.poll() is None:
        proc.popen.terminate()
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
    proc.popen.wait(timeout=10)
    services = proc.data_dir / "services"
    for service in (RedisServer(services / "redis"), ObjectStoreServer(services / "object-store")):
        if service.root.is_dir() and service.status().running:
            service.stop()
