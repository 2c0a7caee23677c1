"""What priorities, users and the dead-letter queue cost, measured in the same run on one embedded redis-server.

    .venv/bin/python bench/bench_semantics.py [--jobs 2000] [--rounds 3] [--backlog 1000] [--dead 100000]

- drain rate of trivial jobs, the app's WorkerPool (1 process x 5 threads, burst, no rate limit): jobs spread over
  three priorities and two users (six lanes), and all in one lane, vs the same jobs queued as before into one plain
  RQ queue (today's single queue): median of interleaved rounds; the rate spans the first job's start to the last
  job's end. Redis commands per job (INFO commandstats) and CPU per job (getrusage) say what a dequeue over lanes
  costs;
- the wait of a high job behind a backlog of low ones (each 50 ms of I/O, 5 workers): its enqueue to its start,
  against the next free worker slot (a slot frees every 50 ms / 5 = 10 ms on average, at most 50 ms) and against what
  the same job would wait at low priority (the rest of the backlog);
- `dlq list` with 100,000 dead letters: one page (50) from the newest, from the middle, of one queue, and the counts
  per queue, best of 20 calls each; and `memo-desktop dlq list --json` end to end (a process start included).

Other work on the machine moves every figure: the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.context import AppContext  # noqa: E402
from memo_desktop.core.jobs.client import JobQueue  # noqa: E402
from memo_desktop.core.jobs.registry import load_job_modules  # noqa: E402
from memo_desktop.core.queueing import dead_letters  # noqa: E402
from memo_desktop.core.queueing.lanes import Lane  # noqa: E402
from memo_desktop.core.workers.pool import WorkerPool  # noqa: E402
from timing import best_of, command_calls, embedded_redis, percentile, print_rows  # noqa: E402

QUEUE = "file-process"
ECHO = "tests.fixtures.jobs.echo"
SLEEP = "tests.fixtures.jobs.sleep"
JOB_SECONDS = 0.05  # each job of the low backlog: 1,000 of them keep 5 workers busy for 10 s
MIXES = {  # how the drained jobs are spread: (priority, user) per job, in turn
    "one plain RQ queue (today)": None,
    "1 priority x 1 user (1 lane)": [("normal", "ann")],
    "3 priorities x 2 users (6 lanes)": [(p, u) for p in ("high", "normal", "low") for u in ("ann", "bob")],
}


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def fill(conn: redis.Redis, jobs: JobQueue, count: int, mix) -> list[str]:
    if mix is None:  # today's layout: every job in the one RQ queue of its kind, queued as the client always did
        plain = Lane.parse(QUEUE)
        return [jobs._enqueue_call(plain, ECHO, (), {"payload": {"value": i}}, None, None) for i in range(count)]
    return [jobs.enqueue_function(QUEUE, ECHO, {"value": i}, priority=mix[i % len(mix)][0],
                                  user=mix[i % len(mix)][1]) for i in range(count)]


def drain(conn: redis.Redis, jobs: JobQueue, settings, count: int, mix) -> tuple[float, float, float]:
    """(jobs/s from the first start to the last end, Redis commands per job, CPU ms per job)."""
    conn.flushall()
    ids = fill(conn, jobs, count, mix)
    calls, cpu = command_calls(conn), cpu_seconds()
    ctx = AppContext(settings)
    try:
        WorkerPool(ctx, [QUEUE], concurrency=5, burst=True).start().join()
    finally:
        ctx.close()
    cpu, calls = cpu_seconds() - cpu, command_calls(conn) - calls
    done = [job for job in Job.fetch_many(ids, connection=conn, serializer=JSONSerializer) if job is not None]
    assert len(done) == count and all(job.get_status(refresh=False) == "finished" for job in done), "jobs lost"
    span = max(job.ended_at for job in done) - min(job.started_at for job in done)
    return count / span.total_seconds(), calls / count, cpu / count * 1000


def high_behind_low(conn: redis.Redis, jobs: JobQueue, settings, backlog: int, probes: int) -> dict[str, list[float]]:
    """Each probe: a high job queued while the pool works through a low backlog (50 ms jobs); its enqueue -> start.
    Also the low backlog left at that moment (what a job at low priority would have waited behind)."""
    conn.flushall()
    ctx = AppContext(settings)
    waits, behind = [], []
    pool = None
    try:
        for i in range(backlog):
            jobs.enqueue_function(QUEUE, SLEEP, {"seconds": JOB_SECONDS, "steps": 1}, priority="low", user="ann")
        pool = WorkerPool(ctx, [QUEUE], concurrency=5).start()
        time.sleep(1.0)  # the pool is busy with the backlog
        low_lane = jobs.lane_for(QUEUE, "low", "ann").name
        for _ in range(probes):
            left = jobs.queue(low_lane).count
            queued = time.time()
            job_id = jobs.enqueue_function(QUEUE, ECHO, {"value": "urgent"}, priority="high", user="bob")
            while (job := jobs.fetch(job_id)).started_at is None:
                time.sleep(0.001)
            waits.append(job.started_at.timestamp() - queued)
            behind.append(left)
            time.sleep(0.15)
    finally:
        if pool is not None:
            pool.stop(timeout=30)
        ctx.close()
    return {"wait": waits, "behind": behind}


def dead_letter_listing(conn: redis.Redis, url: str, data_dir: str, total: int) -> list[tuple[str, str]]:
    conn.flushall()
    queues = ("file-process", "file-delete", "webhook-delivery")
    now = time.time()
    with conn.pipeline(transaction=False) as pipe:
        for i in range(total):
            letter = dead_letters.DeadLetter(
                f"job-{i:07d}", queues[i % 3], f"{queues[i % 3]}:normal:ann", ECHO,
                kwargs={"payload": {"fileId": f"memo-{i}", "s3Key": f"memos/memo-{i}/x.wav", "mimeType": "audio/wav",
                                    "operation": "analyze"}},
                reason="ProcessingError: the object is not audio (a long reason, as real ones are)", user="ann",
                failed_at=now - (total - i), attempts_made=3)
            dead_letters.record(pipe, letter, total)
            if i % 2000 == 1999:
                pipe.execute()
        pipe.execute()
    assert dead_letters.total(conn) == total
    rows = []
    for label, call in (
            ("newest page (50)", lambda: dead_letters.list_page(conn, None, 0, 50)),
            (f"page at offset {total // 2}", lambda: dead_letters.list_page(conn, None, total // 2, 50)),
            ("one queue's newest page", lambda: dead_letters.list_page(conn, "file-delete", 0, 50)),
            ("counts per queue", lambda: dead_letters.counts(conn))):
        rows.append((f"dlq at {total:,} dead letters: {label}", f"{best_of(20, call) * 1e3:6.2f} ms"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    began = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", data_dir, "--redis-url", url, "dlq",
                          "list", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - began
    assert out.returncode == 0 and '"total": %d' % total in out.stdout, out.stderr
    rows.append((f"`memo-desktop dlq list --json` at {total:,} (process start included)", f"{elapsed * 1e3:6.0f} ms"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--dead", type=int, default=100_000)
    args = parser.parse_args()

    with embedded_redis("bench-s-") as (tmp, url, conn):
        settings = load_settings({"data_dir": tmp, "redis_url": url, "job_modules": "tests.fixtures.jobs",
                                  "rate_limit": 0, "keep_completed": args.jobs}, environ={})
        load_job_modules(settings.job_modules)
        jobs = JobQueue(conn, settings)
        print(f"redis-server {conn.info('server')['redis_version']} (embedded, AOF everysec, unix socket); "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in MIXES}
        for _ in range(args.rounds):  # interleaved: a busy moment of the machine hits both alike
            for name, mix in MIXES.items():
                results[name].append(drain(conn, jobs, settings, args.jobs, mix))
        rows = []
        baseline = statistics.median(r[0] for r in results[next(iter(MIXES))])
        for name, measured in results.items():
            rate = statistics.median(r[0] for r in measured)
            rows.append((f"drain {args.jobs} trivial jobs, pool 1 x 5 threads, {name}",
                         f"{rate:5.0f} jobs/s {rate / baseline:5.2f}x  "
                         f"{statistics.median(r[1] for r in measured):4.1f} Redis cmds/job  "
                         f"{statistics.median(r[2] for r in measured):4.2f} ms CPU/job"))

        probe = high_behind_low(conn, jobs, settings.replace(keep_completed=100), args.backlog, args.probes)
        waits = probe["wait"]
        slot = JOB_SECONDS * 1e3
        rows += [(f"high job behind a {args.backlog}-job low backlog ({slot:.0f} ms jobs, 5 workers), n={len(waits)}",
                  f"wait p50 {statistics.median(waits) * 1e3:.1f} ms, p95 {percentile(waits, 95) * 1e3:.1f} ms, "
                  f"max {max(waits) * 1e3:.1f} ms (next free slot: <= {slot:.0f} ms, {slot / 5:.0f} on average)"),
                 ("  the same job at low priority would have waited behind",
                  f"{statistics.median(probe['behind']):.0f} jobs, ~"
                  f"{statistics.median(probe['behind']) * JOB_SECONDS / 5:.1f} s")]
        rows += dead_letter_listing(conn, url, str(tmp), args.dead)
        print_rows(rows)


if __name__ == "__main__":
    main()
