"""`memo-desktop worker`, `job ID` and `health`: the queue side of the command line (no Qt on this path)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

from memo_desktop.cli.common import app_context, print_json
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError, RedisUnavailable
from memo_desktop.core.pipeline import requeue_pending
from memo_desktop.core.processing.collector import ResultCollector
from memo_desktop.core.secrets import mask_url
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.monitor import HealthSnapshot, read_health

log = logging.getLogger(__name__)

REQUEUE_SECONDS = 15.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run headless workers (SIGTERM/SIGINT: finish current jobs, then exit)")
    p.add_argument("--url", help="Redis URL (default: the configured or embedded Redis)")
    p.add_argument("--queues", default=",".join(k.value for k in QueueKind),
                   help="comma-separated queues to work on (default: all)")
    p.add_argument("--concurrency", type=int, help="worker threads (default: the 'concurrency' setting, 5)")
    p.add_argument("--burst", action="store_true", help="drain the queues, then exit")
    p.add_argument("--name", help="worker name prefix (shown in the queue panel and `rq info`)")
    p.set_defaults(handler=run_worker)

    p = sub.add_parser("job", help="one job's status")
    p.add_argument("job_id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print {jobId, state, progress, result, ...} as JSON")
    p.set_defaults(handler=show_job)

    p = sub.add_parser("health", help="Redis status and per-queue counts (exit 1 when Redis is unreachable)")
    p.add_argument("--json", action="store_true", help="print {redis, queues: {fileUpload, ...}} as JSON")
    p.set_defaults(handler=show_health)


def run_worker(args: argparse.Namespace) -> int:
    kinds = [QueueKind.parse(name.strip()) for name in args.queues.split(",") if name.strip()]
    extra = {"redis_url": args.url} if args.url else {}
    stop_requested = graceful_stop_on_signals()  # before any job starts, so no signal kills one midway
    with app_context(args, **extra) as ctx:
        pool = ctx.start_workers(kinds, concurrency=args.concurrency, name=args.name, burst=args.burst)
        print(f"memo-desktop worker {pool.name}: {pool.concurrency} threads on {', '.join(pool.queue_names)}",
              flush=True)
        collector = None
        if not args.burst:
            catch_up_pending_uploads(ctx, kinds)
            # a machine that uploads owns memos: take in what workers elsewhere computed for them
            collector = ResultCollector(ctx).start() if QueueKind.UPLOAD in kinds else None
        last_catch_up = time.monotonic()
        while pool.alive and not stop_requested.wait(0.5):
            if not args.burst and time.monotonic() - last_catch_up > REQUEUE_SECONDS:
                catch_up_pending_uploads(ctx, kinds)
                last_catch_up = time.monotonic()
        finished = pool.stop(timeout=ctx.settings.job_timeout)
        if collector is not None:
            collector.stop()
        return 0 if finished else 1


def graceful_stop_on_signals() -> threading.Event:
    """First SIGTERM/SIGINT: let the current jobs finish, then exit. Later ones only say so."""
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop_requested.is_set():
            print("still finishing the current jobs; send SIGKILL to abort them", file=sys.stderr, flush=True)
            return
        print(f"{signal.Signals(signum).name}: finishing current jobs, then exiting", file=sys.stderr, flush=True)
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop_requested


def catch_up_pending_uploads(ctx: AppContext, kinds: list[QueueKind]) -> None:
    """Memos of this data dir that an outage or crash left without a live upload job are queued again."""
    if QueueKind.UPLOAD not in kinds:
        return
    try:
        requeue_pending(ctx)
    except RedisUnavailable as exc:
        log.warning("pending uploads wait for Redis: %s", exc)


def show_job(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        info = ctx.jobs.status(args.job_id)
    if args.json:
        print_json(info.as_dict())
    else:
        line = f"{info.job_id}: {info.state.value} ({info.progress}%) on {info.queue}, " \
               f"attempt {info.attempts_made}/{info.attempts}"
        print(line)
        if info.error:
            print(f"  error: {info.error}")
        if info.result is not None:
            print(f"  result: {info.result}")
    return 0


def show_health(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        try:
            url = mask_url(ctx.redis_url)
            snapshot = read_health(ctx.redis, ctx.queue_names())
        except MemoError as exc:  # the embedded Redis could not start: that is "disconnected" too
            url, snapshot = "", HealthSnapshot(False, error=str(exc))
    data = snapshot.as_dict()
    if args.json:
        print_json(data)
    elif snapshot.connected:
        print(f"redis: connected ({url})")
        for key, counts in data["queues"].items():
            print(f"  {key:12} " + "  ".join(f"{k} {v}" for k, v in counts.items()))
    else:
        print(f"redis: disconnected - {snapshot.error}")
    return 0 if snapshot.connected else 1
