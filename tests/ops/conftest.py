"""Operations tests (webhooks, alerts, metrics): runtimes like `worker --http` over the session Redis, a webhook
receiver on 127.0.0.1, the test job functions."""

from __future__ import annotations

import pytest

from memo_desktop.core.workers import thread_worker
from tests.fixtures.jobs import MODULE as JOBS
from tests.fixtures.web import TOKEN, Receiver, WebRuntime


@pytest.fixture(autouse=True)
def _quick_idle_polls(monkeypatch):
    monkeypatch.setattr(thread_worker, "POLL_SECONDS", 0.25)


@pytest.fixture
def ops_settings(settings, monkeypatch):
    monkeypatch.setenv("MEMO_HTTP_TOKEN", TOKEN)
    return settings.replace(job_modules=(JOBS,), rate_limit=0, backoff=1.0)


@pytest.fixture
def runtimes():
    """Start WebRuntimes; all stopped after the test."""
    made: list[WebRuntime] = []

    def start(settings, **kwargs) -> WebRuntime:
        runtime = WebRuntime(settings, **kwargs)
        made.append(runtime)
        return runtime

    yield start
    for runtime in reversed(made):
        runtime.stop()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def start(**kwargs) -> Receiver:
        server = Receiver(**kwargs)
        made.append(server)
        return server

    yield start
    for server in made:
        server.close()
