"""Users: every job carries its user; workers take waiting jobs round-robin across users (one user's backlog delays
another's job by a slot or two, not by the backlog); the per-user rate limit holds across worker processes; health
counts per user; bad user names are refused."""

from __future__ import annotations

import json

import pytest

from memo_desktop.core.config import load_settings
from memo_desktop.core.errors import ConfigError, PayloadError
from memo_desktop.core.monitor import read_health
from tests.core.conftest import QUEUE, job, read_log, state_of, wait_until
from tests.core.test_cli_queue import memo
from tests.core.test_worker_process import _max_in_window


def _echo(ctx, user: str, tag: str) -> str:
    return ctx.jobs.enqueue_function(QUEUE, job("echo"), {"log": "L", "tag": tag}, user=user)


def _run_order(redis_conn) -> list[str]:
    return [e.tag for e in sorted(read_log(redis_conn, "L"), key=lambda e: e.time)]


def test_workers_take_turns_between_users(ctx, start_pool, redis_conn):
    ctx.jobs.pause(QUEUE)
    for i in range(100):
        _echo(ctx, "ann", f"ann{i}")
    bob = [_echo(ctx, "bob", f"bob{i}") for i in range(5)]  # queued after all of ann's
    start_pool(ctx, concurrency=1)
    ctx.jobs.resume(QUEUE)
    wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in bob), 20, message="bob's jobs")
    order = _run_order(redis_conn)
    positions = [order.index(f"bob{i}") for i in range(5)]
    assert all(position <= 2 * i + 1 for i, position in enumerate(positions)), (positions, order[:12])


def test_a_users_job_is_not_stuck_behind_another_users_backlog(ctx, start_pool, redis_conn):
    for i in range(100):
        ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.05, "steps": 1, "log": "L", "tag": f"ann{i}"},
                                  user="ann")
    start_pool(ctx, concurrency=2)
    wait_until(lambda: len(read_log(redis_conn, "L")) >= 10, 10, message="ann's backlog to be under way")
    started_before = len([e for e in read_log(redis_conn, "L") if e.event == "start"])
    bob = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.05, "steps": 1, "log": "L", "tag": "bob"},
                                    user="bob")
    wait_until(lambda: state_of(ctx.jobs, bob) == "completed", 10, message="bob's job")
    starts = [e.tag for e in sorted(read_log(redis_conn, "L"), key=lambda e: e.time) if e.event == "start"]
    # bob is a user the workers never saw: they learn of him within 0.5 s (10 slots of 0.05 s on 2 workers)
    assert starts.index("bob") - started_before <= 2 + 20, starts
    assert sum(state_of(ctx.jobs, f) == "waiting" for f in ctx.jobs.queue(f"{QUEUE}:normal:ann").job_ids) > 50


def test_a_known_users_new_job_starts_at_the_next_slot(ctx, start_pool, redis_conn):
    _echo(ctx, "bob", "bob-first")  # bob is known to the workers from here on
    for i in range(100):
        ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.05, "steps": 1, "log": "L", "tag": f"ann{i}"},
                                  user="ann")
    start_pool(ctx, concurrency=2)
    wait_until(lambda: len(read_log(redis_conn, "L")) >= 10, 10, message="ann's backlog to be under way")
    started_before = len([e for e in read_log(redis_conn, "L") if e.event in ("start", "run")])
    bob = ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.05, "steps": 1, "log": "L", "tag": "bob"},
                                    user="bob")
    wait_until(lambda: state_of(ctx.jobs, bob) == "completed", 10, message="bob's job")
    starts = [e.tag for e in sorted(read_log(redis_conn, "L"), key=lambda e: e.time) if e.event in ("start", "run")]
    assert starts.index("bob") - started_before <= 3, starts  # the next free slot of one of the two workers


def test_the_per_user_rate_limit_holds_across_two_worker_processes(ctx, worker_process, redis_conn):
    limit = 2
    env = {"MEMO_RATE_LIMIT_PER_USER": str(limit)}
    workers = [worker_process(name, "--queues", "file-process", "--concurrency", "2", env=env)
               for name in ("user-a", "user-b")]
    for worker in workers:
        worker.wait_taking_jobs()
    ann = [_echo(ctx, "ann", "ann") for _ in range(8)]
    bob = [_echo(ctx, "bob", "bob") for _ in range(4)]
    wait_until(lambda: all(state_of(ctx.jobs, i) == "completed" for i in ann + bob), 30, interval=0.2,
               message="12 jobs at 2/s per user")
    log = read_log(redis_conn, "L")
    assert {e.pid for e in log} == {w.pid for w in workers}, "both processes should have taken jobs"
    times = {user: sorted(e.time for e in log if e.tag == user) for user in ("ann", "bob")}
    for user, starts in times.items():
        # slots are granted on the Redis clock a few ms before each job starts: 50 ms of slack
        assert _max_in_window(starts, 0.95) <= limit, (user, starts)
    assert times["ann"][-1] - times["ann"][0] >= (8 - limit) / limit - 0.5  # ann's 8 took ~3 s
    assert times["bob"][-1] < times["ann"][-1], "bob's jobs waited for ann's limit"


def test_health_counts_per_user(ctx, redis_url, data_dir):
    _echo(ctx, "ann", "a")
    _echo(ctx, "ann", "b")
    _echo(ctx, "bob", "c")
    snapshot = read_health(ctx.redis, ctx.queue_names())
    assert {user: counts.waiting for user, counts in snapshot.by_user.items()} == {"ann": 2, "bob": 1}
    result = memo("--redis-url", redis_url, "health", "--json", data_dir=data_dir)
    data = json.loads(result.stdout)
    assert data["users"]["ann"] == {"waiting": 2, "active": 0, "scheduled": 0, "completed": 0, "failed": 0}
    assert data["queues"]["fileProcess"]["waiting"] == 3
    text = memo("--redis-url", redis_url, "health", "--by-user", data_dir=data_dir).stdout
    assert "users:" in text and "ann" in text and "bob" in text


def test_every_job_carries_its_user(ctx):
    job_id = _echo(ctx, "ann", "a")
    assert ctx.jobs.fetch(job_id).meta["userId"] == "ann"
    assert ctx.jobs.status(job_id).as_dict()["userId"] == "ann"
    default = ctx.jobs.enqueue_function(QUEUE, job("echo"), {})
    assert ctx.jobs.status(default).user == ctx.settings.user


def test_a_bad_user_name_is_refused(ctx, redis_conn, data_dir):
    with pytest.raises(PayloadError, match="invalid user name 'ann smith'"):
        ctx.jobs.enqueue_function(QUEUE, job("echo"), {}, user="ann smith")
    assert not redis_conn.keys("rq:job:*")
    with pytest.raises(ConfigError, match="setting 'user' may hold only letters"):
        load_settings({"data_dir": str(data_dir)}, environ={"MEMO_USER": "ann:smith"})
