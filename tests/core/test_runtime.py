"""The one runtime of a process: its states, what it starts and stops, the context its jobs get, and its
supervisor (driven directly with a fake probe: a narrow unit test of the backoff and of "one report per change")."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest

from memo_desktop.core.errors import RedisAuthError, RedisUnavailable, RuntimeClosed
from memo_desktop.core.runtime import Runtime, RuntimePlan, RuntimeState, WorkerPlan, start_worker_pool
from memo_desktop.core.runtime.supervisor import RETRY_MAX_SECONDS, Chore, Link, Supervisor
from memo_desktop.core.services import RedisServer
from tests.core.conftest import QUEUE, job, wait_until
from tests.fixtures.redis_servers import test_redis  # noqa: F401  (fixture)


def test_states_and_use_after_close(queue_settings):
    runtime = Runtime(queue_settings, RuntimePlan(workers=WorkerPlan(concurrency=1)))
    assert runtime.state is RuntimeState.NEW
    runtime.context.settings  # noqa: B018 - a new runtime's context is usable (it starts things lazily)
    runtime.start()
    assert runtime.state is RuntimeState.RUNNING and runtime.pool is not None
    with pytest.raises(RuntimeClosed):
        runtime.start()
    ctx = runtime.context
    assert runtime.stop() is True and runtime.state is RuntimeState.CLOSED
    assert runtime.stop() is True  # idempotent
    with pytest.raises(RuntimeClosed, match="has stopped"):
        runtime.context  # noqa: B018
    with pytest.raises(RuntimeClosed, match="context was closed"):
        ctx.object_store  # noqa: B018 - a late caller must not start (and leak) an embedded service


def test_every_thread_it_starts_is_named_and_gone_after_stop(queue_settings):
    before = set(threading.enumerate())
    runtime = Runtime(queue_settings, RuntimePlan(workers=WorkerPlan(concurrency=2), watch=True,
                                                  collect_results=True, requeue_local=True))
    runtime.start()
    try:
        started = [t.name for t in threading.enumerate() if t not in before]
        assert started and not [name for name in started if re.fullmatch(r"Thread-\d+( \(.*\))?", name)], started
        assert "job-events" in started and "runtime-supervisor" in started and "queue-watcher" in started
    finally:
        runtime.stop()
    # the autouse leak check then fails the test if any of them is still running


def test_jobs_get_the_context_of_the_pool_that_runs_them(queue_settings, tmp_path, ctx):
    """Two runtimes in one process on one Redis (before and after a settings change, overlapping): each job
    reports the settings of the pool whose worker ran it."""
    first = Runtime(queue_settings.replace(concurrency=1), RuntimePlan(workers=WorkerPlan(name="first")))
    second = Runtime(queue_settings.replace(concurrency=2, data_dir=tmp_path / "second"),
                     RuntimePlan(workers=WorkerPlan(name="second")))
    first.start()
    second.start()
    try:
        ids = [ctx.jobs.enqueue_function(QUEUE, job("settings_seen"), {"seconds": 0.05}) for _ in range(20)]
        wait_until(lambda: all(ctx.jobs.status(i).state.value == "completed" for i in ids), 20, message="20 jobs")
        ran_on = {"first": 0, "second": 0}
        for info in ctx.jobs.statuses(ids):
            pool = info.worker.split(".")[0]
            expected = first if pool == "first" else second
            assert info.result == {"dataDir": str(expected.settings.data_dir),
                                   "concurrency": expected.settings.concurrency}
            ran_on[pool] += 1
        assert all(ran_on.values()), ran_on  # both pools took jobs
    finally:
        first.stop()
        second.stop()


def test_a_runtime_waits_for_redis_and_starts_its_parts_when_it_answers(queue_settings, test_redis):
    server = test_redis()
    runtime = Runtime(queue_settings.replace(redis_url=server.url()), RuntimePlan(workers=WorkerPlan(concurrency=1)))
    try:
        report = runtime.start()
        assert runtime.pool is None and "is not reachable" in report.problems[0]
        server.start()
        wait_until(lambda: runtime.pool is not None, 15, message="the pool to start once Redis answers")
        jobs = runtime.context.jobs
        job_id = jobs.enqueue_function(QUEUE, job("echo"), {"value": 1})
        wait_until(lambda: jobs.status(job_id).state.value == "completed", 15, message="the job")
    finally:
        runtime.stop()


def test_refused_credentials_end_a_headless_start_and_leave_nothing_running(queue_settings, test_redis):
    server = test_redis(password="right").start()
    runtime = Runtime(queue_settings.replace(redis_url=server.url(password="wrong")),
                      RuntimePlan(workers=WorkerPlan()))
    with pytest.raises(RedisAuthError):
        runtime.start()
    assert runtime.state is RuntimeState.CLOSED


def test_a_burst_plan_does_not_wait(queue_settings, tmp_path):
    runtime = Runtime(queue_settings.replace(redis_url=f"unix://{tmp_path}/none.sock"),
                      RuntimePlan(workers=WorkerPlan(burst=True), wait_for_redis=False))
    with pytest.raises(RedisUnavailable, match="none.sock is not reachable"):
        runtime.start()


class _FlakyService:
    """A probe whose answers the test decides."""

    def __init__(self) -> None:
        self.answers: list[Exception | str] = []
        self.calls = 0

    def probe(self) -> str:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else "up at x"
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_supervisor_reports_each_change_of_state_once_and_caps_its_backoff():
    service = _FlakyService()
    changes: list[tuple[bool, str]] = []
    link = Link("redis", service.probe, lambda up, detail, error: changes.append((up, detail)))
    supervisor = Supervisor([link], [])
    service.answers = [RedisUnavailable(f"down (try {n})") for n in range(12)]
    now = 0.0
    delays = []
    for _ in range(12):
        now = link.next_check
        supervisor.run_once(now)
        delays.append(link.next_check - now)
    assert changes == [(False, "down (try 0)")]  # twelve failed probes, one report (the wording varies)
    assert delays[:3] == [0.5, 1.0, 2.0] and max(delays) == RETRY_MAX_SECONDS
    service.answers = [RedisAuthError("refused")]
    supervisor.run_once(link.next_check)
    assert changes[-1] == (False, "refused")  # another kind of failure is a change
    supervisor.run_once(link.next_check)
    assert changes[-1] == (True, "up at x") and len(changes) == 3
    supervisor.wake("redis")
    assert link.next_check == 0.0


def test_supervisor_chores_run_at_their_interval_and_only_when_wanted():
    ran: list[float] = []
    wanted = {"now": False}
    chore = Chore("count", lambda: ran.append(1), interval=10.0, when=lambda: wanted["now"])
    supervisor = Supervisor([], [chore])
    supervisor.run_once(0.0)
    assert ran == [] and chore.next_run == 10.0  # not wanted: skipped, and not retried in a busy loop
    wanted["now"] = True
    supervisor.run_once(5.0)
    assert ran == []
    supervisor.run_once(10.0)
    assert ran == [1] and chore.next_run == 20.0


def test_an_embedded_redis_that_dies_is_started_again_and_nothing_queued_is_lost(queue_settings, tmp_path):
    settings = queue_settings.replace(redis_url="", data_dir=tmp_path / "own")
    runtime = Runtime(settings, RuntimePlan(workers=WorkerPlan(concurrency=1)))
    runtime.start()
    try:
        jobs = runtime.context.jobs
        runtime.pool.stop(timeout=5)  # nothing takes the job before the crash
        queued = jobs.enqueue_function(QUEUE, job("echo"), {"value": "before the crash"})
        time.sleep(1.2)  # appendfsync everysec: what Redis acknowledged a second ago is on disk
        killed = runtime.context.redis_server.status().pid
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: runtime.context.redis_server.status().pid not in (None, killed), 15,
                   message="the supervisor to start Redis again")
        assert jobs.status(queued).state.value == "waiting" and runtime.connections["redis"].connected
        pool = start_worker_pool(runtime.context, WorkerPlan(concurrency=1))
        try:
            wait_until(lambda: jobs.status(queued).state.value == "completed", 15, message="the queued job")
        finally:
            pool.stop(timeout=5)
    finally:
        runtime.stop()
    assert not RedisServer(settings.services_dir / "redis").status().running  # the last user stopped it
