"""Priorities: a waiting high job starts before every waiting normal or low job of its queue, in a pool and across
worker processes; a waiting job's priority can be changed; bad priorities are refused with nothing queued."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from memo_desktop.core.errors import PayloadError, QueueError
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.queueing.lanes import Lane, serving_order
from memo_desktop.core.queueing.priorities import Priority
from tests.core.conftest import QUEUE, job, lane, read_log, state_of, wait_until
from tests.core.test_cli_queue import memo


def _sleep_job(ctx, tag: str, priority: str, seconds: float = 0.1) -> str:
    return ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": seconds, "steps": 1, "log": "L", "tag": tag},
                                     priority=priority)


def _start_order(redis_conn) -> list[str]:
    return [e.tag for e in sorted(read_log(redis_conn, "L"), key=lambda e: e.time) if e.event == "start"]


def test_a_high_job_behind_30_low_ones_starts_next(ctx, start_pool, redis_conn):
    lows = [_sleep_job(ctx, f"low{i}", "low") for i in range(30)]
    start_pool(ctx, concurrency=1)
    wait_until(lambda: len(_start_order(redis_conn)) >= 3, 10, message="the first low jobs to run")
    started_before = len(_start_order(redis_conn))
    high = _sleep_job(ctx, "high", "high")
    wait_until(lambda: state_of(ctx.jobs, high) == "completed", 10, message="the high job")
    order = _start_order(redis_conn)
    # it waited only for the job running when it came (one more may have been taken in the same instant), never
    # for the low ones waiting with it
    assert order.index("high") <= started_before + 1, order
    assert sum(state_of(ctx.jobs, i) == "waiting" for i in lows) >= 20


def test_each_priority_is_served_in_turn_and_in_order_within_it(ctx, start_pool, redis_conn):
    ctx.jobs.pause(QUEUE)
    tags = ["low0", "normal0", "high0", "low1", "high1", "normal1"]
    for tag in tags:
        _sleep_job(ctx, tag, tag[:-1], seconds=0.01)
    start_pool(ctx, concurrency=1)
    ctx.jobs.resume(QUEUE)
    wait_until(lambda: len(_start_order(redis_conn)) == 6, 10, message="six jobs")
    assert _start_order(redis_conn) == ["high0", "high1", "normal0", "normal1", "low0", "low1"]


def test_priorities_hold_across_two_worker_processes(ctx, worker_process, redis_conn):
    workers = [worker_process(name, "--queues", "file-process", "--concurrency", "1") for name in ("prio-a", "prio-b")]
    for worker in workers:
        worker.wait_taking_jobs()
    blockers = [_sleep_job(ctx, f"blocker{i}", "low", seconds=1.0) for i in range(2)]
    wait_until(lambda: all(state_of(ctx.jobs, i) == "active" for i in blockers), 10,
               message="each process busy with a job")
    for i in range(12):  # queued while both are busy, then taken as they free up
        _sleep_job(ctx, f"low{i}", "low", seconds=0.3)
    _sleep_job(ctx, "normal", "normal", seconds=0.3)
    for i in range(2):
        _sleep_job(ctx, f"high{i}", "high", seconds=0.3)
    wait_until(lambda: len(_start_order(redis_conn)) >= 2 + 5, 15, message="the next jobs to start")
    order = [tag for tag in _start_order(redis_conn) if not tag.startswith("blocker")]
    assert sorted(order[:2]) == ["high0", "high1"], order  # the first job each process took next
    assert order[2] == "normal", order
    assert all(tag.startswith("low") for tag in order[3:]), order
    log = read_log(redis_conn, "L")
    assert {e.pid for e in log if e.tag.startswith("high")} == {w.pid for w in workers}


def test_a_waiting_jobs_priority_can_be_changed(ctx, start_pool, redis_conn):
    ctx.jobs.pause(QUEUE)
    first = _sleep_job(ctx, "first", "low", seconds=0.01)
    late = _sleep_job(ctx, "late", "low", seconds=0.01)
    info = ctx.jobs.set_priority(late, "high")
    assert (info.priority, info.state.value, info.lane) == (Priority.HIGH, "waiting", lane(ctx, priority="high"))
    assert Queue(lane(ctx, priority="high"), connection=redis_conn, serializer=JSONSerializer).job_ids == [late]
    assert Queue(lane(ctx, priority="low"), connection=redis_conn, serializer=JSONSerializer).job_ids == [first]
    assert ctx.jobs.fetch(late).meta["priority"] == "high"
    start_pool(ctx, concurrency=1)
    ctx.jobs.resume(QUEUE)
    wait_until(lambda: len(_start_order(redis_conn)) == 2, 10, message="both jobs")
    assert _start_order(redis_conn) == ["late", "first"]
    with pytest.raises(QueueError, match=f"job '{late}' is completed: only a waiting job's priority"):
        ctx.jobs.set_priority(late, "low")


def test_asking_again_at_a_higher_priority_moves_the_waiting_job_up(ctx, redis_conn):
    payload = {"fileId": "m1", "s3Key": "memos/m1/x.wav", "mimeType": "audio/wav", "operation": "analyze"}
    job_id = ctx.jobs.enqueue(QueueKind.PROCESS, payload, priority="low")
    assert ctx.jobs.enqueue(QueueKind.PROCESS, payload, priority="normal") == job_id
    assert ctx.jobs.status(job_id).priority is Priority.NORMAL
    assert ctx.jobs.enqueue(QueueKind.PROCESS, payload, priority="low") == job_id  # never moved down
    assert ctx.jobs.status(job_id).priority is Priority.NORMAL
    assert redis_conn.llen(Lane.parse(lane(ctx, priority="low")).key) == 0


def test_job_status_shows_priority_and_user(ctx, redis_url, data_dir):
    job_id = _sleep_job(ctx, "x", "high")
    result = memo("--redis-url", redis_url, "job", job_id, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["priority"], data["userId"], data["queue"], data["rqQueue"]) == \
        ("high", ctx.settings.user, QUEUE, lane(ctx, priority="high"))
    changed = memo("--redis-url", redis_url, "job", job_id, "--priority", "low", data_dir=data_dir)
    assert changed.returncode == 0, changed.stderr
    assert f"on {QUEUE}, low priority of {ctx.settings.user}" in changed.stdout
    assert ctx.jobs.status(job_id).priority is Priority.LOW


def test_an_unknown_priority_is_refused_and_nothing_is_queued(ctx, redis_conn, redis_url, data_dir, tmp_path):
    with pytest.raises(PayloadError, match="unknown priority 'urgent' \\(use high, normal, low\\)"):
        ctx.jobs.enqueue_function(QUEUE, job("echo"), {}, priority="urgent")
    assert not redis_conn.keys("rq:job:*")
    result = memo("--redis-url", redis_url, "upload", str(tmp_path / "x.wav"), "--priority", "urgent",
                  data_dir=data_dir)
    assert result.returncode == 2 and "invalid choice: 'urgent'" in result.stderr
    job_id = _sleep_job(ctx, "x", "normal")
    result = memo("--redis-url", redis_url, "job", job_id, "--priority", "asap", data_dir=data_dir)
    assert result.returncode == 2 and "invalid choice: 'asap'" in result.stderr


def test_serving_order_is_by_priority_then_users_in_turn():
    lanes = [Lane("q", Priority.LOW, "ann"), Lane("q", Priority.HIGH, "bob"), Lane("q", Priority.NORMAL, None),
             Lane("q", Priority.NORMAL, "cat"), Lane("q", Priority.NORMAL, "ann"), Lane("q", Priority.HIGH, "ann")]
    names = [lane.name for lane in serving_order(lanes, after_user="ann")]
    assert names == ["q:high:bob", "q:high:ann", "q", "q:normal:cat", "q:normal:ann", "q:low:ann"]
    assert [lane.name for lane in serving_order(lanes, after_user="cat")][:2] == ["q:high:ann", "q:high:bob"]
    assert Lane.parse("file-upload@pc:high:ann") == Lane("file-upload@pc", Priority.HIGH, "ann")
    assert Lane.parse("file-upload@pc") == Lane("file-upload@pc", Priority.NORMAL, None)
    assert Lane.parse("a:urgent:b").user is None  # not a lane of ours: a plain queue
