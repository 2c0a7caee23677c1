"""`memo-desktop worker`, `job ID` and `health`: the queue side of the command line (no Qt on this path)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from memo_desktop.cli.common import app_context, print_json, settings_from_args
from memo_desktop.core.errors import MemoError
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.monitor import HealthSnapshot, read_health
from memo_desktop.core.pipeline.schedule_ticker import schedule_ticker_part
from memo_desktop.core.queueing.priorities import PRIORITY_NAMES
from memo_desktop.core.runtime import ConnectionState, Runtime, RuntimeListener, RuntimePlan, WorkerPlan
from memo_desktop.core.secrets import mask_url


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run headless workers (SIGTERM/SIGINT: finish current jobs, then exit)")
    p.add_argument("--url", help="Redis URL (default: the configured or embedded Redis)")
    p.add_argument("--queues", default=",".join(k.value for k in QueueKind),
                   help="comma-separated queues to work on (default: all)")
    p.add_argument("--concurrency", type=int, help="worker threads (default: the 'concurrency' setting, 5)")
    p.add_argument("--burst", action="store_true", help="drain the queues, then exit")
    p.add_argument("--name", help="worker name prefix (shown in the queue panel and `rq info`)")
    p.add_argument("--http", metavar="HOST:PORT", help="also serve the web dashboard, HTTP API and /metrics")
    p.set_defaults(handler=run_worker)

    p = sub.add_parser("job", help="one job's status (and change a waiting job's priority)")
    p.add_argument("job_id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print {jobId, state, progress, result, ...} as JSON")
    p.add_argument("--priority", choices=PRIORITY_NAMES,
                   help="move the waiting job to this priority first (refused for a job that is not waiting)")
    p.set_defaults(handler=show_job)

    p = sub.add_parser("health", help="Redis status and per-queue counts (exit 1 when Redis is unreachable)")
    p.add_argument("--json", action="store_true", help="print {redis, queues: {fileUpload, ...}, users} as JSON")
    p.add_argument("--by-user", action="store_true", help="also print the counts of each user")
    p.set_defaults(handler=show_health)


def run_worker(args: argparse.Namespace) -> int:
    """Headless workers over a runtime: they wait for Redis and the object store (capped backoff, one line per change
    of state), stop at once on SIGTERM, and exit non-zero at once when credentials are refused."""
    kinds = tuple(QueueKind.parse(name.strip()) for name in args.queues.split(",") if name.strip())
    extra = {"redis_url": args.url} if args.url else {}
    stop_requested = graceful_stop_on_signals()  # before any job starts, so no signal kills one midway
    owns_memos = QueueKind.UPLOAD in kinds and not args.burst  # a machine that uploads has a library of its own
    from memo_desktop.core.operations import operations_parts  # webhooks and alerts: only for workers that run

    parts, web_redis_parts = _web_parts(args.http)
    plan = RuntimePlan(workers=WorkerPlan(kinds, args.concurrency, args.name, args.burst),
                       requeue_local=owns_memos, collect_results=owns_memos, needs_store=True,
                       wait_for_redis=not args.burst, parts=parts,
                       redis_parts=() if args.burst else (*web_redis_parts, *operations_parts(),
                                                          *((schedule_ticker_part,) if owns_memos else ())))
    listener = _WorkerListener()
    runtime = Runtime(settings_from_args(args, **extra), plan, listener)
    report = runtime.start()  # a refusal, or anything down in burst mode: one line (main) and exit 1
    try:
        pool = runtime.pool
        if args.http:
            from memo_desktop.web.server import http_server_of

            server = http_server_of(runtime)
            if server is not None:
                print(f"dashboard: {server.url(with_token=sys.stdout.isatty())}", flush=True)
        if pool is not None:
            print(f"memo-desktop worker {pool.name}: {pool.concurrency} threads on {', '.join(pool.queue_names)}",
                  flush=True)
        else:
            print("memo-desktop worker: waiting for Redis (the workers start when it answers)", flush=True)
        for problem in report.problems:  # what it waits for, said once; later changes are the listener's
            print(f"memo-desktop worker: {problem}; waiting for it", file=sys.stderr, flush=True)
        listener.started = True
        runtime.wait(stop_requested)
    finally:
        finished = runtime.stop(worker_timeout=runtime.settings.job_timeout)
    if runtime.failure is not None:
        raise runtime.failure
    return 0 if finished else 1


def _web_parts(address: str | None) -> tuple[tuple, tuple]:
    if not address:
        return (), ()
    from memo_desktop.cli.web_commands import http_address
    from memo_desktop.web.server import web_parts  # the web stack only when asked for

    return web_parts(*http_address(address))


class _WorkerListener(RuntimeListener):
    """One line on stderr per change of a service's state once running (never one per retry), for a journal or a
    terminal. What start found is said by `run_worker` itself (or is the one error line of a failed start)."""

    started = False

    def connection_changed(self, state: ConnectionState) -> None:
        if not self.started:
            return
        name = "Redis" if state.service == "redis" else "object store"
        if state.connected:
            print(f"{name}: connected ({state.detail})", file=sys.stderr, flush=True)
        else:
            print(f"{name}: {state.detail}; waiting for it", file=sys.stderr, flush=True)

    def problem(self, message: str) -> None:
        print(f"memo-desktop worker: {message}", file=sys.stderr, flush=True)


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


def show_job(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        info = ctx.jobs.set_priority(args.job_id, args.priority) if args.priority else ctx.jobs.status(args.job_id)
    if args.json:
        print_json(info.as_dict())
    else:
        owner = f" of {info.user}" if info.user else ""
        line = f"{info.job_id}: {info.state.value} ({info.progress}%) on {info.queue}, {info.priority.value} " \
               f"priority{owner}, attempt {info.attempts_made}/{info.attempts}"
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
        for alert in snapshot.alerts:
            print(f"  alert {alert.name}: {alert.describe()}")
        dead = sum(data["deadLetters"].values())
        if dead:
            print(f"  dead letters {dead} (memo-desktop dlq list)")
        if args.by_user:
            print("users:" if data["users"] else "users: none")
            for user, counts in data["users"].items():
                print(f"  {user:12} " + "  ".join(f"{k} {v}" for k, v in counts.items()))
    else:
        print(f"redis: disconnected - {snapshot.error}")
    return 0 if snapshot.connected else 1
