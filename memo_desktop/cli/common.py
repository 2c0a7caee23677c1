"""Options and helpers shared by every command."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator

from memo_desktop.core.config import Settings, load_settings
from memo_desktop.core.context import AppContext


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where memos, the library and embedded services live (MEMO_DATA_DIR)")
    parser.add_argument("--redis-url", help="use this Redis instead of the embedded one (MEMO_REDIS_URL)")
    parser.add_argument("--s3-endpoint", help="use this S3 endpoint instead of the embedded one (MEMO_S3_ENDPOINT)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {"data_dir": args.data_dir, "redis_url": args.redis_url, "s3_endpoint": args.s3_endpoint, **extra}
    return load_settings(overrides)


@contextmanager
def app_context(args: argparse.Namespace, **extra: Any) -> Iterator[AppContext]:
    ctx = AppContext(settings_from_args(args, **extra))
    try:
        yield ctx
    finally:
        ctx.close()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def run_gui(args: argparse.Namespace) -> int:
    """Start the desktop app (imports Qt only here, so every subcommand runs without a display)."""
    from memo_desktop.ui.application import run

    return run(settings_from_args(args))
