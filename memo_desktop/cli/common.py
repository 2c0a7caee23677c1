"""Options and helpers shared by every command. Every command runs over a `core.runtime.Runtime`: one-shot
commands over one with the default plan (its services start on first use), `worker` and `services` with their own."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from memo_desktop.core.config import Settings, load_settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import RedisUnavailable
from memo_desktop.core.pipeline import requeue_pending
from memo_desktop.core.runtime import Runtime, RuntimeListener, RuntimePlan


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where memos, the library and embedded services live (MEMO_DATA_DIR)")
    parser.add_argument("--redis-url", help="use this Redis instead of the embedded one (MEMO_REDIS_URL)")
    parser.add_argument("--s3-endpoint", help="use this S3 endpoint instead of the embedded one (MEMO_S3_ENDPOINT)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages (and show tracebacks)")


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {"data_dir": args.data_dir, "redis_url": args.redis_url, "s3_endpoint": args.s3_endpoint, **extra}
    return load_settings(overrides)


@contextmanager
def open_runtime(args: argparse.Namespace, plan: RuntimePlan = RuntimePlan(),
                 listener: RuntimeListener | None = None, **extra: Any) -> Iterator[Runtime]:
    """A started runtime for this command, stopped (in order) when the command ends."""
    runtime = Runtime(settings_from_args(args, **extra), plan, listener)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


@contextmanager
def app_context(args: argparse.Namespace, **extra: Any) -> Iterator[AppContext]:
    """The services of a one-shot command (a runtime that runs no parts)."""
    with open_runtime(args, **extra) as runtime:
        yield runtime.context


def queue_pending_uploads(ctx: AppContext) -> None:
    """A good moment to catch up on memos an outage (or a crash) left without an upload job; Redis down: later."""
    try:
        requeue_pending(ctx)
    except RedisUnavailable:
        pass


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def print_listing(as_json: bool, items: list[Any], as_dict: Callable[[Any], Any], line: Callable[[Any], str],
                  empty: str) -> int:
    """A list command's output: JSON, or one line per item (`empty` when there is none)."""
    if as_json:
        print_json([as_dict(item) for item in items])
        return 0
    for item in items:
        print(line(item))
    if not items:
        print(empty)
    return 0


def run_gui(args: argparse.Namespace) -> int:
    """Start the desktop app (imports Qt only here, so every subcommand runs without a display)."""
    from memo_desktop.ui.application import run

    return run(settings_from_args(args))
