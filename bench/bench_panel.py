"""Live queue panel: freshness (a job's state changes in Redis -> the Qt model shows it) and the cost of one panel
refresh with 100 and with 100,000 jobs in the history, against a Redis PING round trip measured in the same run.

    .venv/bin/python bench/bench_panel.py [--samples 200] [--history 100000]

The panel is the app's real QueuePanelWidget with its real models, fed by a real QueueWatcher (job events +
coalesced counts) through Qt signals, on one embedded redis-server (offscreen Qt). Targets: freshness p95 < 250 ms;
one refresh < 10 ms and flat between 100 and 100,000 jobs.

- freshness "new job listed": enqueue a job while the panel lists that queue's waiting jobs; time until the job is
  a row of the job model (event -> debounced page reload off-thread -> model);
- freshness "counts": the same enqueue, until the counts model shows the new waiting count (event -> coalesced
  LLEN/ZCARD read -> model);
- freshness "state in place": a listed waiting job is removed (a `canceled` event); time until its row says so;
- refresh cost: read_health (one pipelined round trip) + one page of 50 completed jobs (list_jobs) off the GUI
  thread, then applying both to the models and repainting on the GUI thread, with 100 and 100,000 completed jobs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from PySide6.QtCore import QObject, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.jobs.client import JobQueue  # noqa: E402
from memo_desktop.core.jobs.states import JobState  # noqa: E402
from memo_desktop.core.jobs.events import EventHub  # noqa: E402
from memo_desktop.core.library import Library  # noqa: E402
from memo_desktop.core.monitor import QueueWatcher, list_jobs, read_health  # noqa: E402
from memo_desktop.core.services import RedisServer  # noqa: E402
from memo_desktop.ui.background import BackgroundRunner  # noqa: E402
from memo_desktop.ui.queue_panel_widget import PAGE_SIZE, QueuePanelWidget  # noqa: E402
from history import fill_history  # noqa: E402
from timing import percentile  # noqa: E402

QUEUE = "file-process"
ECHO = "tests.fixtures.jobs.echo"


class WatcherRelay(QObject):
    """What the app's ServiceHost does with the watcher's callbacks: immutable values over queued signals."""

    snapshot_taken = Signal(object)
    job_events_received = Signal(object)


class Context:
    """What the panel asks its context for: the queue client, and the library that names jobs by title."""

    def __init__(self, jobs: JobQueue, library: Library) -> None:
        self.jobs = jobs
        self.library = library

def spin_until(app: QApplication, condition, timeout: float = 5.0) -> float:
    """Run the GUI event loop until `condition()`; returns the perf_counter time it became true."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the panel did not catch up within 5 s")
        app.processEvents()
        time.sleep(0.0005)
    return time.perf_counter()


def measure_freshness(app: QApplication, panel: QueuePanelWidget, jobs: JobQueue, samples: int) -> dict:
    jobs.pause(QUEUE)  # nothing takes the jobs: they stay listed as waiting
    panel.show_jobs(QUEUE, JobState.WAITING)
    listed, counted, in_place = [], [], []

    def waiting(count: int):
        return lambda: (c := panel.counts_model.counts(QUEUE)) is not None and c.waiting == count

    spin_until(app, waiting(0))
    for _ in range(samples):
        start = time.perf_counter()
        job_id = jobs.enqueue_function(QUEUE, ECHO, {"value": 1})
        times: dict[str, float] = {}
        # record each view's moment separately, whichever comes first
        while len(times) < 2:
            now = spin_until(app, lambda: "counts" not in times and waiting(1)() or
                             "listed" not in times and panel.jobs_model.row_for(job_id) is not None)
            if waiting(1)():
                times.setdefault("counts", now)
            if panel.jobs_model.row_for(job_id) is not None:
                times.setdefault("listed", now)
        listed.append(times["listed"] - start)
        counted.append(times["counts"] - start)
        start = time.perf_counter()
        jobs.remove(job_id)
        done = spin_until(app, lambda: (row := panel.jobs_model.row_for(job_id)) is None
                          or row.state is not JobState.WAITING)
        in_place.append(done - start)
        spin_until(app, lambda: panel.jobs_model.row_for(job_id) is None and waiting(0)())
    jobs.resume(QUEUE)
    return {"new job listed": listed, "counts updated": counted, "state changed in place": in_place}


def refresh_cost(app: QApplication, panel: QueuePanelWidget, conn: redis.Redis, jobs: JobQueue,
                 runs: int = 30) -> dict[str, float]:
    names = [QUEUE]
    redis_side, models, repaint = [], [], []
    for run in range(runs):
        t0 = time.perf_counter()
        snapshot = read_health(conn, names)
        page = tuple(list_jobs(jobs, QUEUE, JobState.COMPLETED, 0, PAGE_SIZE))
        t1 = time.perf_counter()
        panel.counts_model.set_snapshot(snapshot)
        panel.jobs_model.set_page(QUEUE, JobState.COMPLETED, page[::-1] if run % 2 else page)  # a real reset
        t2 = time.perf_counter()
        panel.repaint()  # what the next paint event costs (the visible rows only)
        app.processEvents()
        t3 = time.perf_counter()
        redis_side.append(t1 - t0)
        models.append(t2 - t1)
        repaint.append(t3 - t2)
        assert len(page) == PAGE_SIZE
    return {"off-thread Redis": statistics.median(redis_side), "GUI models": statistics.median(models),
            "GUI repaint": statistics.median(repaint),
            "GUI total": statistics.median([b + c for b, c in zip(models, repaint)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--history", type=int, default=100_000)
    args = parser.parse_args()

    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        url = server.acquire()
        conn = redis.Redis.from_url(url)
        settings = load_settings({"data_dir": tmp, "redis_url": url, "job_modules": "tests.fixtures.jobs"},
                                 environ={})
        jobs = JobQueue(conn, settings)
        runner = BackgroundRunner()
        context = Context(jobs, Library.from_settings(settings))
        panel = QueuePanelWidget(runner, lambda: context, lambda: None)
        panel.resize(900, 600)
        panel.show()
        relay = WatcherRelay()
        relay.snapshot_taken.connect(panel.apply_snapshot)
        relay.job_events_received.connect(panel.apply_job_events)
        hub = EventHub(conn).start()
        watcher = QueueWatcher(conn, hub, [QUEUE], on_snapshot=relay.snapshot_taken.emit,
                               on_events=lambda events: relay.job_events_received.emit(tuple(events))).start()
        try:
            hub.wait_ready()
            spin_until(app, lambda: panel.counts_model.counts(QUEUE) is not None)
            pings = []
            for _ in range(200):
                start = time.perf_counter()
                conn.ping()
                pings.append(time.perf_counter() - start)
            baseline = statistics.median(pings)
            print(f"baseline: Redis PING round trip (unix socket) p50 {baseline * 1e3:.3f} ms")

            results = measure_freshness(app, panel, jobs, args.samples)
            print(f"\nfreshness over {args.samples} job state changes (target p95 < 250 ms):")
            for name, values in results.items():
                print(f"  {name:24s} p50 {percentile(values, 50) * 1e3:7.1f} ms   p95 "
                      f"{percentile(values, 95) * 1e3:7.1f} ms   max {max(values) * 1e3:7.1f} ms")

            print("\none panel refresh (median of 30; target < 10 ms and flat):")
            costs = {}
            for total in (100, args.history):
                started = time.perf_counter()
                fill_history(conn, jobs, QUEUE, ECHO, total)
                filled = time.perf_counter() - started
                costs[total] = refresh_cost(app, panel, conn, jobs)
                parts = "   ".join(f"{k} {v * 1e3:6.2f} ms" for k, v in costs[total].items())
                print(f"  {total:>7} completed jobs: {parts}   (history written in {filled:.1f} s)")
            for part in ("off-thread Redis", "GUI total"):
                small, large = costs[100][part], costs[args.history][part]
                print(f"  {part}: {args.history} / 100 jobs = {large / small:.2f}x; {large / baseline:.0f}x PING")
        finally:
            watcher.stop()
            hub.stop()
            runner.close()
            runner.wait_for_done(5)
            panel.deleteLater()
            app.processEvents()
            conn.close()
            server.release()


if __name__ == "__main__":
    main()
