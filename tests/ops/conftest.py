"""Operations tests (webhooks, alerts, metrics): runtimes like `worker --http` over the session Redis, a webhook
receiver on 127.0.0.1, the test job functions."""

from __future__ import annotations

import pytest

from memo_desktop.core.workers import thread_worker
from tests.fixtures.jobs import MODULE as JOBS
from tests.fixtures.web import TOKEN, Receiver, WebRuntime, owned


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
    yield from owned(WebRuntime, WebRuntime.stop)


@pytest.fixture
def receiver():
    """Start webhook receivers on 127.0.0.1; all closed after the test."""
    yield from owned(Receiver, Receiver.close)
