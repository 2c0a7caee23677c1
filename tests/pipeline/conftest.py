"""An app context on the real Redis and the real object store, with a worker pool in the test process."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from memo_desktop.core.context import AppContext
from memo_desktop.core.library import UploadState
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.fixtures.waiting import wait_until


@pytest.fixture
def make_context(s3_settings) -> Iterator[Any]:
    """Build contexts (fast retries, no follow-up processing); every context and pool is closed after the test."""
    made: list[tuple[AppContext, list]] = []

    def make(**changes: Any) -> AppContext:
        settings = s3_settings.replace(**{"backoff": 1.0, "auto_analyze": False, **changes})
        ctx = AppContext(settings)
        made.append((ctx, []))
        return ctx

    def start_workers(ctx: AppContext, **kw: Any):
        pool = start_worker_pool(ctx, WorkerPlan(**kw))
        next(pools for c, pools in made if c is ctx).append(pool)
        return pool

    make.start_workers = start_workers  # type: ignore[attr-defined]
    yield make
    for ctx, pools in made:
        for pool in pools:
            pool.stop(timeout=10)
        ctx.close()


@pytest.fixture
def ctx(make_context) -> AppContext:
    return make_context()


def wait_for_state(ctx: AppContext, memo_id: str, state: UploadState, timeout: float = 30.0):
    return wait_until(lambda: (m := ctx.library.get(memo_id)).upload_state is state and m, timeout,
                      f"memo {memo_id} to become {state.value}")


def wait_for_job(ctx: AppContext, job_id: str, state: str = "completed", timeout: float = 20.0):
    """The job's status once it reached `state` (a memo turns `uploaded` inside its job, a moment before rq records
    the job as finished: wait for the job itself before reading its result)."""
    return wait_until(lambda: (s := ctx.jobs.status(job_id)).state.value == state and s, timeout,
                      f"job {job_id} to become {state}")
