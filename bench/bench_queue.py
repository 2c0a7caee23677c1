"""Queue core speed against stock rq measured in the same run, on one embedded redis-server (AOF on, unix socket).

    .venv/bin/python bench/bench_queue.py [--jobs 2000] [--rounds 3] [--events 300]

- enqueue latency: JobQueue.enqueue_function (app) vs rq's Queue.enqueue (stock), one trivial registered job each;
- drain rate of trivial jobs: the app's WorkerPool (concurrency 5, no rate limit, burst) in one process, and
  `memo-desktop worker --burst` in two processes, vs one stock rq SimpleWorker (`work(burst=True)`): same jobs,
  same Redis, JSON serializer, median of interleaved rounds. The rate spans the first job's start to the last job's
  end (worker start-up and shutdown left out for everyone); the retention limit is set above the job count so every
  job stays readable. Redis commands per job come from INFO commandstats, CPU per job from getrusage (the worker
  processes' own start-up CPU, measured on an empty queue, is subtracted);
- the same for jobs that wait 20 ms on I/O, where the pool's threads pay off;
- event latency: a job's end (its `ended_at`) to its `completed` event reaching a subscriber in the same process,
  and publish to receipt (the pubsub hop alone), while the pool works through a trickle of ~100 jobs/s.

Other work on the machine moves every figure: the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.jobs.client import JobQueue  # noqa: E402
from memo_desktop.core.jobs.events import EventSubscriber, JobEvent  # noqa: E402
from memo_desktop.core.jobs.registry import load_job_modules  # noqa: E402
from memo_desktop.core.context import AppContext  # noqa: E402
from memo_desktop.core.workers.pool import WorkerPool  # noqa: E402
from timing import command_calls, embedded_redis, percentile, print_rows  # noqa: E402

QUEUE = "file-process"
ECHO = "tests.fixtures.jobs.echo"  # the app's workers run registered functions, given their pool's context
STOCK_ECHO = "tests.fixtures.jobs.stock_echo"  # the same work as a plain function, for stock rq workers

def fill(jobs: JobQueue, count: int, func: str = ECHO, payload: dict | None = None) -> list[str]:
    return [jobs.enqueue_function(QUEUE, func, {"value": i} if payload is None else payload) for i in range(count)]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def drain(conn: redis.Redis, jobs: JobQueue, count: int, run, func: str = ECHO, payload: dict | None = None,
          startup_cpu: float = 0.0) -> tuple[float, float, float]:
    """Empty Redis, queue `count` jobs, let `run()` do them all. The rate is over the span from the first job's
    start to the last job's end (worker start-up and shutdown are left out, for every contender alike).
    Returns (jobs/s, Redis commands per job, worker CPU ms per job, start-up CPU of worker processes excluded)."""
    conn.flushall()
    ids = fill(jobs, count, func, payload)
    calls = command_calls(conn)
    cpu = cpu_seconds()
    run()
    cpu = cpu_seconds() - cpu - startup_cpu
    calls = command_calls(conn) - calls
    done = [job for job in Job.fetch_many(ids, connection=conn, serializer=JSONSerializer) if job is not None]
    assert len(done) == count and all(job.get_status(refresh=False) == "finished" for job in done), "jobs lost"
    span = max(job.ended_at for job in done) - min(job.started_at for job in done)
    return count / span.total_seconds(), calls / count, cpu / count * 1000


def bench_enqueue(conn: redis.Redis, jobs: JobQueue, count: int) -> dict[str, list[float]]:
    conn.flushall()
    stock = Queue(QUEUE, connection=conn, serializer=JSONSerializer)
    out: dict[str, list[float]] = {"app": [], "stock": []}
    for i in range(count):
        began = time.perf_counter()
        jobs.enqueue_function(QUEUE, ECHO, {"value": i})
        out["app"].append(time.perf_counter() - began)
        began = time.perf_counter()
        stock.enqueue(STOCK_ECHO, {"value": i})
        out["stock"].append(time.perf_counter() - began)
    return out


def run_stock_simpleworker(conn: redis.Redis, jobs: JobQueue) -> None:
    """Stock rq on the RQ queue the app's jobs are in (the normal lane of this user: see core.queueing.lanes)."""
    worker = SimpleWorker([jobs.lane_for(QUEUE).name], connection=conn, serializer=JSONSerializer)
    worker.work(burst=True, logging_level="WARNING")


def run_pool(settings, concurrency: int) -> None:
    ctx = AppContext(settings)
    try:
        WorkerPool(ctx, [QUEUE], concurrency=concurrency, burst=True).start().join()
    finally:
        ctx.close()


def run_worker_processes(url: str, data_dir: Path, processes: int, concurrency: int, keep: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    env.update({"MEMO_JOB_MODULES": "tests.fixtures.jobs", "MEMO_RATE_LIMIT": "0", "MEMO_KEEP_COMPLETED": str(keep),
                "PYTHONPATH": str(REPO)})
    procs = [subprocess.Popen([sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir / f"w{i}"),
                               "--redis-url", url, "worker", "--burst", "--queues", QUEUE,
                               "--concurrency", str(concurrency)], cwd=REPO, env=env, stdout=subprocess.DEVNULL)
             for i in range(processes)]
    try:
        for proc in procs:
            if proc.wait(timeout=300) != 0:
                raise SystemExit(f"worker process exited with {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def bench_events(conn: redis.Redis, jobs: JobQueue, settings, count: int) -> tuple[list[float], list[float]]:
    """(job end -> completed event received, publish -> received) in seconds, jobs trickling in at ~100/s."""
    conn.flushall()
    received: dict[str, tuple[float, JobEvent]] = {}
    lock = threading.Lock()

    def on_event(event: JobEvent) -> None:
        if event.state == "completed":
            with lock:
                received[event.job_id] = (time.time(), event)

    subscriber = EventSubscriber(conn, on_event).start()
    subscriber.wait_ready()
    ctx = AppContext(settings.replace(keep_completed=2 * count))  # every job's ended_at stays readable
    pool = WorkerPool(ctx, [QUEUE], concurrency=5).start()
    try:
        ids = []
        for i in range(count):
            ids.append(jobs.enqueue_function(QUEUE, ECHO, {"value": i}))
            time.sleep(0.01)
        deadline = time.monotonic() + 30
        while len(received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pool.stop(timeout=10)
        ctx.close()
        subscriber.stop()
    ended = {job.id: job.ended_at.timestamp() for job in
             Job.fetch_many(ids, connection=conn, serializer=JSONSerializer) if job is not None and job.ended_at}
    from_end = [at - ended[job_id] for job_id, (at, _) in received.items() if job_id in ended]
    hop = [at - event.timestamp for at, event in received.values()]
    return from_end, hop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="drain runs per contender (the median is shown)")
    args = parser.parse_args()

    with embedded_redis("bench-q-") as (tmp, url, conn):
        settings = load_settings({"data_dir": tmp, "redis_url": url, "job_modules": "tests.fixtures.jobs",
                                  "rate_limit": 0}, environ={})
        load_job_modules(settings.job_modules)
        jobs = JobQueue(conn, settings)
        n = args.jobs
        print(f"redis-server {conn.info('server')['redis_version']} (embedded, AOF everysec, unix socket); "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {n} trivial jobs per drain, "
              f"median of {args.rounds} interleaved drains; ratios against stock rq SimpleWorker")

        lat = bench_enqueue(conn, jobs, n)
        rows = [("enqueue p50 / p99, app JobQueue", f"{percentile(lat['app'], 50) * 1e3:.2f} / "
                 f"{percentile(lat['app'], 99) * 1e3:.2f} ms"),
                ("enqueue p50 / p99, stock rq Queue.enqueue", f"{percentile(lat['stock'], 50) * 1e3:.2f} / "
                 f"{percentile(lat['stock'], 99) * 1e3:.2f} ms")]

        # Every job must stay readable for its timestamps: the retention limit is above n (no trimming).
        drain_settings = settings.replace(keep_completed=n)
        conn.flushall()
        startup = cpu_seconds()
        run_worker_processes(url, Path(tmp), 2, 5, n)  # empty queue: what starting and stopping them costs
        startup = cpu_seconds() - startup
        runs = {
            "stock rq SimpleWorker (1 process, 1 thread)":
                (lambda: run_stock_simpleworker(conn, jobs), 0.0, STOCK_ECHO),
            "app WorkerPool (1 process x 5 threads)": (lambda: run_pool(drain_settings, 5), 0.0, ECHO),
            "memo-desktop worker --burst (2 processes x 5 threads)":
                (lambda: run_worker_processes(url, Path(tmp), 2, 5, n), startup, ECHO),
            "memo-desktop worker --burst (2 processes x 1 thread)":
                (lambda: run_worker_processes(url, Path(tmp), 2, 1, n), startup, ECHO),
        }
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
        for _ in range(args.rounds):  # interleaved, so a busy moment of the machine hits every contender
            for name, (run, startup_cpu, func) in runs.items():
                results[name].append(drain(conn, jobs, n, run, func, startup_cpu=startup_cpu))
        baseline = statistics.median(r[0] for r in results[next(iter(runs))])
        for name, measured in results.items():
            rate = statistics.median(r[0] for r in measured)
            cmds = statistics.median(r[1] for r in measured)
            cpu = statistics.median(r[2] for r in measured)
            rows.append((f"drain, {name}", f"{rate:5.0f} jobs/s {rate / baseline:5.2f}x  "
                         f"{cmds:4.1f} Redis cmds/job  {cpu:4.2f} ms CPU/job"))
        # Where threads pay off: jobs that wait on I/O (20 ms each, like an upload's network waits).
        io_payload, io_count = {"seconds": 0.02, "steps": 1}, 250
        io_stock = drain(conn, jobs, io_count, lambda: run_stock_simpleworker(conn, jobs),
                         "tests.fixtures.jobs.stock_sleep", io_payload)[0]
        io_pool = drain(conn, jobs, io_count, lambda: run_pool(drain_settings, 5), "tests.fixtures.jobs.sleep",
                        io_payload)[0]
        rows += [
            ("drain 20 ms I/O-bound jobs, stock rq SimpleWorker", f"{io_stock:5.0f} jobs/s  1.00x"),
            ("drain 20 ms I/O-bound jobs, app WorkerPool (1 x 5 threads)",
             f"{io_pool:5.0f} jobs/s {io_pool / io_stock:5.2f}x"),
        ]

        from_end, hop = bench_events(conn, jobs, settings, args.events)
        rows += [
            (f"event: job end -> 'completed' received (n={len(from_end)})",
             f"p50 {statistics.median(from_end) * 1e3:.1f} ms, p95 {percentile(from_end, 95) * 1e3:.1f} ms"),
            ("event: publish -> received (pubsub hop)",
             f"p50 {statistics.median(hop) * 1e3:.1f} ms, p95 {percentile(hop, 95) * 1e3:.1f} ms"),
        ]
        print_rows(rows)


if __name__ == "__main__":
    main()
