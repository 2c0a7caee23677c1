"""The dead-letter queue: every job that failed for good is kept with its reason (the keep_failed trim never loses
one), capped by keep_dead (the oldest dropped with a log line and a counter), requeued with fresh attempts or
purged; from the CLI too; generic over queues."""

from __future__ import annotations

import json
import logging
import time

from memo_desktop.core.monitor import read_health
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.workers.pool import WorkerPool
from tests.core.conftest import QUEUE, job, lane, state_of, wait_until
from tests.core.test_cli_queue import memo


def _dead(ctx) -> int:
    return dead_letters.total(ctx.redis)


def test_600_permanent_failures_are_all_dead_letters_though_failed_keeps_500(make_context, start_pool):
    ctx = make_context(keep_failed=500)
    ids = [ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {"n": i}) for i in range(600)]
    start_pool(ctx, concurrency=4)
    wait_until(lambda: _dead(ctx) == 600, 60, interval=0.2, message="600 dead letters")
    counts = read_health(ctx.redis, ctx.queue_names()).by_base[QUEUE]
    assert (counts.waiting, counts.failed) == (0, 500)  # the history is trimmed...
    assert dead_letters.counts(ctx.redis) == {QUEUE: 600}  # ...its dead letters are not
    page = dead_letters.list_page(ctx.redis, QUEUE, 0, 50)
    assert page.total == 600 and len(page.entries) == 50
    assert {letter.job_id for letter in page.entries} <= set(ids)
    newest = page.entries[0]
    assert newest.reason == "PermanentJobError: the input is corrupt; retrying cannot help"
    assert (newest.queue, newest.lane, newest.priority, newest.user, newest.attempts_made) == \
        (QUEUE, lane(ctx), "normal", ctx.settings.user, 1)
    assert [e.failed_at for e in page.entries] == sorted((e.failed_at for e in page.entries), reverse=True)
    trimmed = [i for i in ids if not ctx.redis.exists(f"rq:job:{i}")]
    assert len(trimmed) == 100 and all(dead_letters.contains(ctx.redis, i) for i in trimmed)


def test_a_job_that_used_up_its_attempts_is_a_dead_letter_a_retried_one_is_not(make_context, start_pool):
    ctx = make_context(backoff=0.0)
    dies = ctx.jobs.enqueue_function(QUEUE, job("fail"), {"message": "disk on fire"})
    recovers = ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": "C", "failures": 2})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: state_of(ctx.jobs, dies) == "failed" and state_of(ctx.jobs, recovers) == "completed", 15,
               message="both jobs to end")
    letter = dead_letters.get(ctx.redis, dies)
    assert (letter.reason, letter.attempts_made) == ("RuntimeError: disk on fire", 3)
    assert not dead_letters.contains(ctx.redis, recovers)


def test_the_cap_drops_the_oldest_with_a_log_line_and_a_counter(make_context, start_pool, caplog):
    ctx = make_context(keep_dead=5, attempts=1)
    ids = [ctx.jobs.enqueue_function(QUEUE, job("fail"), {"n": i}) for i in range(8)]
    with caplog.at_level(logging.WARNING, logger="memo_desktop.core.queueing.dead_letters"):
        start_pool(ctx, concurrency=1)  # one worker: they die in order
        wait_until(lambda: all(state_of(ctx.jobs, i) == "failed" for i in ids), 15, message="eight failures")
        wait_until(lambda: dead_letters.dropped_counts(ctx.redis) == {QUEUE: 3}, 5, message="the counter")
    kept = {letter.job_id for letter in dead_letters.list_page(ctx.redis).entries}
    assert kept == set(ids[3:])
    dropped_lines = [r.getMessage() for r in caplog.records if "dropped the oldest dead letter" in r.getMessage()]
    assert sorted(line.rsplit(" ", 1)[1] for line in dropped_lines) == sorted(ids[:3])


def test_requeue_gives_fresh_attempts_and_leaves_the_dead_letter_queue(make_context, start_pool):
    ctx = make_context(attempts=2, backoff=0.0, keep_failed=1)
    first = ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": "A", "failures": 2})
    second = ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": "B", "failures": 2},
                                       priority="high", user="ann")
    pool = start_pool(ctx, concurrency=1)
    wait_until(lambda: _dead(ctx) == 2, 15, message="two dead letters")
    assert not ctx.redis.exists(f"rq:job:{first}") or not ctx.redis.exists(f"rq:job:{second}")  # keep_failed=1
    assert ctx.jobs.requeue_dead_letters() == 2
    assert _dead(ctx) == 0
    wait_until(lambda: state_of(ctx.jobs, first) == state_of(ctx.jobs, second) == "completed", 15,
               message="the requeued jobs")
    for job_id in (first, second):
        status = ctx.jobs.status(job_id)
        assert (status.attempts_made, status.attempts, status.result) == (1, 2, "ok")  # a fresh set of attempts
    assert (ctx.jobs.status(second).priority.value, ctx.jobs.status(second).user) == ("high", "ann")  # its lane
    assert pool.alive


def test_dlq_cli_lists_requeues_and_purges(make_context, start_pool, redis_url, data_dir):
    ctx = make_context(attempts=1)
    ids = [ctx.jobs.enqueue_function(QUEUE, job("fail"), {"message": f"boom {i}"}) for i in range(4)]
    start_pool(ctx, concurrency=1)
    wait_until(lambda: _dead(ctx) == 4, 10, message="four dead letters")
    run = lambda *args: memo("--redis-url", redis_url, "dlq", *args, data_dir=data_dir)  # noqa: E731

    listed = json.loads(run("list", "--queue", "fileProcess", "--json").stdout)
    assert listed["total"] == 4 and {e["jobId"] for e in listed["deadLetters"]} == set(ids)
    assert {e["reason"] for e in listed["deadLetters"]} == {f"RuntimeError: boom {i}" for i in range(4)}
    assert json.loads(run("list", "--queue", "file-delete", "--json").stdout)["total"] == 0
    text = run("list").stdout
    assert "RuntimeError: boom 3" in text and "1-4 of 4 dead letter(s)" in text

    result = run("requeue", ids[0])
    assert result.returncode == 0 and f"requeued {ids[0]}" in result.stdout
    wait_until(lambda: _dead(ctx) == 4 and dead_letters.contains(ctx.redis, ids[0]), 10,
               message="it failed again (attempts=1): a dead letter once more")
    assert run("purge", ids[1]).stdout.strip() == f"purged {ids[1]}"
    missing = run("purge", ids[1])
    assert missing.returncode == 1 and f"no dead letter with id '{ids[1]}'" in missing.stderr
    assert run("purge", "--older-than", "1").stdout.strip() == "purged 0 dead letter(s)"  # all died just now
    assert run("purge", "--all").stdout.strip() == "purged 3 dead letter(s)"
    assert run("list").stdout.strip() == "no dead letters"
    assert run("requeue").returncode == 2  # neither an ID nor --all


def test_purge_older_than_keeps_the_recent_ones(ctx):
    now = time.time()
    for i, age_days in enumerate((10, 5, 0.5)):
        letter = dead_letters.DeadLetter(f"j{i}", QUEUE, QUEUE, job("fail"), failed_at=now - age_days * 86400)
        dead_letters.record(ctx.redis, letter, keep_dead=100)
    assert dead_letters.purge(ctx.redis, older_than_days=3) == 2
    assert [e.job_id for e in dead_letters.list_page(ctx.redis).entries] == ["j2"]


def test_any_queue_served_by_a_pool_keeps_its_dead_letters(ctx):
    """Generic over queues: e.g. webhook deliveries on a queue of their own."""
    job_id = ctx.jobs.enqueue_function("webhook-delivery", job("fail_permanently"), {})
    pool = WorkerPool(ctx, ["webhook-delivery"], concurrency=1, burst=True).start()
    pool.join()
    letter = dead_letters.get(ctx.redis, job_id)
    assert (letter.queue, letter.lane) == ("webhook-delivery", f"webhook-delivery:normal:{ctx.settings.user}")
    assert dead_letters.counts(ctx.redis) == {"webhook-delivery": 1}
    assert ctx.jobs.requeue_dead_letter(job_id) is True
    assert state_of(ctx.jobs, job_id) == "waiting"


def test_retry_and_remove_of_a_failed_job_take_it_out_of_the_dead_letter_queue(make_context, start_pool):
    ctx = make_context(attempts=1)
    retried = ctx.jobs.enqueue_function(QUEUE, job("fail_then_succeed"), {"counter": "C", "failures": 1})
    removed = ctx.jobs.enqueue_function(QUEUE, job("fail"), {})
    start_pool(ctx, concurrency=1)
    wait_until(lambda: _dead(ctx) == 2, 10, message="two dead letters")
    ctx.jobs.retry(retried)
    ctx.jobs.remove(removed)
    assert _dead(ctx) == 0
    wait_until(lambda: state_of(ctx.jobs, retried) == "completed", 10, message="the retried job")
