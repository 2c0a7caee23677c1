"""Schedules: cron in local time, stored in Redis per device; each tick runs once however many processes run (two
`memo-desktop worker` processes on one library); one catch-up run for ticks missed while nothing ran; every run
recorded; the actions over the library; bad input refused with nothing created; the CLI."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import PayloadError, ScheduleNotFound
from memo_desktop.core.library import Library, UploadState
from memo_desktop.core.pipeline.schedule_ticker import ScheduleTicker
from memo_desktop.core.pipeline.scheduled_actions import run_schedule
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.cron import CronSchedule
from memo_desktop.core.queueing.schedules import ScheduleStore
from tests.core.conftest import state_of, wait_until
from tests.core.test_cli_queue import memo
from tests.fixtures.audio import write_tone

DEAD_STORE = {"MEMO_S3_ENDPOINT": "127.0.0.1:9", "MEMO_S3_ACCESS_KEY": "nobody", "MEMO_S3_SECRET_KEY": "nothing"}


def _uploaded_memos(settings: Settings, tmp_path: Path, count: int, created_at: float | None = None) -> list[str]:
    """Memos marked uploaded (as if their upload job had run; these tests need no object store)."""
    library = Library.from_settings(settings)
    ids = []
    for i in range(count):
        memo_ = library.add_file(write_tone(tmp_path / f"tone{i}.wav", seconds=0.2), created_at=created_at)
        library.set_upload_state(memo_.id, UploadState.UPLOADED, object_key=f"memos/{memo_.id}/{memo_.sha256}.wav")
        ids.append(memo_.id)
    return ids


@pytest.fixture
def store(ctx) -> ScheduleStore:
    return ScheduleStore(ctx.redis, ctx.settings.device)


def test_bad_input_is_refused_by_name_and_nothing_is_created(store, redis_conn):
    for name, cron, action, message in (
            ("a", "61 * * * *", "requeue-local", "invalid cron expression '61 \\* \\* \\* \\*'"),
            ("a", "* * *", "requeue-local", "expected 5 fields"),
            ("a", "0 0 31 2 *", "requeue-local", "it never fires"),
            ("a", "* * * * *", "analyse-all", "unknown action 'analyse-all' \\(known: analyze-unanalyzed"),
            ("a", "* * * * *", "compress-older-than", "compress-older-than needs a number of days"),
            ("a", "* * * * *", "purge-local-audio-older-than:-1", "must be 0 or more"),
            ("a", "* * * * *", "requeue-local:3", "requeue-local takes no argument"),
            ("no spaces", "* * * * *", "requeue-local", "invalid schedule name 'no spaces'")):
        with pytest.raises(PayloadError, match=message):
            store.add(name, cron, action)
    assert not redis_conn.keys("memo-desktop:schedule*")
    store.add("a", "* * * * *", "requeue-local")
    with pytest.raises(PayloadError, match="a schedule named 'a' exists already"):
        store.add("a", "0 * * * *", "analyze-unanalyzed")
    assert str(store.get("a").cron.expression) == "* * * * *"
    store.remove("a")
    with pytest.raises(ScheduleNotFound, match="no schedule named 'a'"):
        store.remove("a")


def test_a_tick_is_claimed_once_however_many_ask(store):
    store.add("a", "* * * * *", "requeue-local")
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        wins.append(store.claim("a", 1_800_000_000.0))

    threads = [threading.Thread(target=claim, name=f"claim-{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert not store.claim("a", 1_799_999_940.0)  # an older tick never runs after a newer one
    assert not store.claim("gone", 1_800_000_060.0)  # nor a removed schedule


def test_cron_times_are_local_through_clock_changes(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        nightly = CronSchedule.parse("30 2 * * *")
        summer = nightly.next_after(time.mktime((2026, 7, 1, 12, 0, 0, 0, 0, -1)))
        assert time.strftime("%F %H:%M", time.localtime(summer)) == "2026-07-02 02:30"
        assert nightly.latest_at_or_before(summer) == summer
        assert nightly.latest_at_or_before(summer - 1) == summer - 86400
        # 29 March: the clock skips 02:00-03:00; the 02:30 run happens once, just after the change
        spring = nightly.next_after(time.mktime((2026, 3, 28, 12, 0, 0, 0, 0, -1)))
        assert time.strftime("%F %H:%M %Z", time.localtime(spring)) == "2026-03-29 03:30 CEST"
        # 25 October: 02:00-03:00 happens twice; a half-hourly schedule fires once per local time
        half_hourly, moment, seen = CronSchedule.parse("*/30 * * * *"), time.mktime((2026, 10, 25, 1, 50, 0, 0, 0,
                                                                                      -1)), []
        for _ in range(4):
            moment = half_hourly.next_after(moment)
            seen.append(time.strftime("%H:%M %Z", time.localtime(moment)))
        assert seen == ["02:00 CEST", "02:30 CEST", "03:00 CET", "03:30 CET"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert CronSchedule.parse("* * * * * */2").next_after(1_800_000_000.0) == 1_800_000_002.0


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_ticker_runs_due_ticks_once_and_one_catch_up_for_missed_ones(ctx, store):
    created = time.mktime((2026, 7, 1, 12, 1, 0, 0, 0, -1))
    store.add("every5", "*/5 * * * *", "requeue-local", created_at=created)
    clock = _Clock(created + 60)
    ticker = ScheduleTicker(ctx, clock=clock)
    ticker.tick()
    assert store.runs("every5") == []  # the 12:00 tick came before the schedule did
    clock.now = created + 4 * 60 + 1  # 12:05:01
    assert ticker.tick() == 5.0  # the next tick is at 12:10: sleep the longest (to see new schedules), 5 s
    runs = store.runs("every5")
    assert [(r.trigger, r.tick) for r in runs] == [("schedule", created + 4 * 60)]
    ticker.tick()
    assert len(store.runs("every5")) == 1  # the same tick never runs twice
    clock.now = created + 44 * 60 + 30  # 12:45:30: eight ticks passed while "nothing ran"
    ticker.tick()
    runs = store.runs("every5")
    assert [(r.trigger, r.tick) for r in runs[:1]] == [("catch-up", created + 44 * 60)]
    assert len(runs) == 2


def test_analyze_unanalyzed_queues_low_jobs_once_and_skips_dead_letters(ctx, store, tmp_path):
    ids = _uploaded_memos(ctx.settings, tmp_path, 3)
    ctx.library.set_analysis(ids[2], {"peak_dbfs": -6.0})
    schedule = store.add("analyze", "0 3 * * *", "analyze-unanalyzed")
    run = run_schedule(ctx, schedule, "manual", None)
    assert (run.enqueued_count, run.skipped, run.errors) == (2, 0, ())
    for job_id in run.enqueued:
        status = ctx.jobs.status(job_id)
        assert (status.priority.value, status.queue, status.payload["operation"]) == ("low", "file-process",
                                                                                      "analyze")
        assert status.payload["fileId"] in ids[:2]
    again = run_schedule(ctx, schedule, "manual", None)
    assert (again.enqueued_count, again.skipped) == (0, 2)  # their jobs are still waiting
    dead = run.enqueued[0]
    ctx.jobs.remove(dead)
    dead_letters.record(ctx.redis, dead_letters.DeadLetter(dead, "file-process", "file-process", "f"), 100)
    third = run_schedule(ctx, schedule, "manual", None)
    assert (third.enqueued_count, third.skipped) == (0, 2)  # a dead letter is not queued again at every tick
    assert [r.trigger for r in store.runs("analyze")] == ["manual"] * 3


def test_compress_older_than_takes_only_old_memos(ctx, store, tmp_path):
    (tmp_path / "old").mkdir()
    old = _uploaded_memos(ctx.settings, tmp_path / "old", 1, created_at=time.time() - 40 * 86400)
    _uploaded_memos(ctx.settings, tmp_path, 1)
    run = run_schedule(ctx, store.add("c", "0 4 * * 0", "compress-older-than:30"), "manual", None)
    assert run.enqueued_count == 1
    assert ctx.jobs.status(run.enqueued[0]).payload == {
        "fileId": old[0], "s3Key": ctx.library.get(old[0]).object_key, "mimeType": "audio/wav",
        "operation": "compress"}


def _two_processes(worker_process, data_dir: Path):
    workers = [worker_process(name, "--queues", "file-upload", "--concurrency", "1", env=DEAD_STORE,
                              data_dir=data_dir) for name in ("tick-a", "tick-b")]
    return workers


def test_a_tick_runs_once_with_two_processes_running(ctx, worker_process, tmp_path):
    library_dir = tmp_path / "shared-library"
    library_dir.mkdir()
    shared = ctx.settings.replace(data_dir=library_dir)
    ids = _uploaded_memos(shared, tmp_path, 2)
    workers = _two_processes(worker_process, library_dir)
    for worker in workers:
        worker.wait_started()
    store = ScheduleStore(ctx.redis, ctx.settings.device)
    store.add("often", "* * * * * */2", "analyze-unanalyzed")
    wait_until(lambda: len(store.runs("often")) >= 4, 20, interval=0.2, message="four ticks")
    for worker in workers:
        worker.kill(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(15) == 0, worker.output()
    runs = store.runs("often")
    ticks = [r.tick for r in runs]
    assert len(ticks) == len(set(ticks)), f"a tick ran twice: {ticks}"
    assert all(r.errors == () for r in runs), [r.as_dict() for r in runs]
    # the tickers read the schedules every 5 s: a tick that passed before they knew of it is caught up, then on time
    assert all(r.trigger == "schedule" for r in runs[:-1]) and runs[-1].trigger in ("schedule", "catch-up")
    assert sorted(ticks, reverse=True) == ticks and all(a - b == 2 for a, b in zip(ticks, ticks[1:]))
    assert sum(r.enqueued_count for r in runs) == 2  # the first tick queued both; the next ones found them waiting
    queued = [job_id for r in runs for job_id in r.enqueued]
    assert sorted(ctx.jobs.status(j).payload["fileId"] for j in queued) == sorted(ids)
    assert all(state_of(ctx.jobs, j) == "waiting" for j in queued)


def test_ticks_missed_while_nothing_ran_are_caught_up_once(ctx, worker_process, tmp_path):
    library_dir = tmp_path / "shared-library"
    library_dir.mkdir()
    _uploaded_memos(ctx.settings.replace(data_dir=library_dir), tmp_path, 1)
    store = ScheduleStore(ctx.redis, ctx.settings.device)
    store.add("minutely", "* * * * *", "analyze-unanalyzed", created_at=time.time() - 600)  # 10 ticks ago
    first, second = _two_processes(worker_process, library_dir)
    first.wait_started()
    wait_until(lambda: store.runs("minutely"), 15, message="the catch-up run")
    second.wait_started()
    time.sleep(1.5)  # the second process reads the schedules at its start: the tick is taken already
    runs = store.runs("minutely")
    catch_up = [r for r in runs if r.trigger == "catch-up"]
    assert len(catch_up) == 1 and catch_up[0].enqueued_count == 1
    assert catch_up[0].tick == CronSchedule.parse("* * * * *").latest_at_or_before(catch_up[0].started_at)
    assert len({r.tick for r in runs}) == len(runs)  # (a minute may have passed: its own tick ran once too)


def test_schedule_cli(ctx, redis_url, data_dir, tmp_path):
    run = lambda *args: memo("--redis-url", redis_url, "schedule", *args, data_dir=data_dir)  # noqa: E731
    added = run("add", "nightly", "--cron", "0 3 * * *", "--action", "compress-older-than:30", "--json")
    assert added.returncode == 0, added.stderr
    data = json.loads(added.stdout)
    assert (data["name"], data["cron"], data["action"], data["lastRun"]) == ("nightly", "0 3 * * *",
                                                                            "compress-older-than:30", None)
    assert time.localtime(data["nextRun"])[3:5] == (3, 0) and data["nextRunLocal"].endswith(
        time.strftime("%z", time.localtime(data["nextRun"])))
    bad = run("add", "x", "--cron", "* * * * 8", "--action", "requeue-local")
    assert bad.returncode == 1 and bad.stderr.startswith("memo-desktop: error: invalid cron expression '* * * * 8'")
    assert run("run", "nightly").stdout.startswith("schedule nightly: ")
    listed = json.loads(run("list", "--json").stdout)
    assert [s["name"] for s in listed] == ["nightly"] and listed[0]["lastRun"]["trigger"] == "manual"
    assert "next " in run("list").stdout
    assert run("remove", "nightly").stdout.strip() == "removed schedule nightly"
    missing = run("remove", "nightly")
    assert missing.returncode == 1 and "no schedule named 'nightly'" in missing.stderr


def test_schedules_belong_to_their_device(ctx, redis_conn):
    ScheduleStore(redis_conn, "laptop").add("a", "* * * * *", "requeue-local")
    assert ScheduleStore(redis_conn, ctx.settings.device).schedules()[0] == []


def test_an_unreadable_schedule_is_skipped_and_a_failing_action_is_recorded(ctx, store, monkeypatch, caplog):
    store.add("good", "* * * * *", "requeue-local")
    ctx.redis.hset(store.key, "broken", b"{not json")
    assert [s.name for s in store.schedules()[0]] == ["good"]
    assert "schedule 'broken' on device" in caplog.text

    def explode(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("memo_desktop.core.pipeline.scheduled_actions.requeue_pending", explode)
    run = run_schedule(ctx, store.get("good"), "manual", None)
    assert run.errors == ("unexpected error: KeyError: 'a bug'",)
    assert store.runs("good")[0].errors == run.errors
