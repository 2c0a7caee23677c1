"""The `memo-desktop` command: the GUI by default, subcommands for everything else (none of them needs a display).

Each command group lives in its own module with a `register(subparsers)` function; `main()` wires them up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from redis import RedisError

from memo_desktop import __version__
from memo_desktop.cli import common
from memo_desktop.core.errors import MemoError
from memo_desktop.core.redis_errors import translate

# Command groups; each module exposes register(subparsers). Order is the order of `--help`.
COMMAND_MODULES = (
    "memo_desktop.cli.queue_commands",
    "memo_desktop.cli.services_commands",
    "memo_desktop.cli.library_commands",
    "memo_desktop.cli.record_commands",
    "memo_desktop.cli.processing_commands",
    "memo_desktop.cli.desktop_commands",
    "memo_desktop.cli.web_commands",
    "memo_desktop.cli.dead_letter_commands",
    "memo_desktop.cli.schedule_commands",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="memo-desktop", description="Desktop voice-memo recorder.")
    parser.add_argument("--version", action="version", version=f"memo-desktop {__version__}")
    common.add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            return common.run_gui(args)
        return int(handler(args) or 0)
    except MemoError as exc:
        print(f"memo-desktop: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as the Python docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except RedisError as exc:  # one that escaped the boundary: still the app's words, not a traceback
        if args.verbose:
            raise
        print(f"memo-desktop: error: {translate(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last boundary: a bug is one line unless -v asks for the traceback
        if args.verbose:
            raise
        print(f"memo-desktop: unexpected error: {type(exc).__name__}: {exc} (run with -v for details)",
              file=sys.stderr)
        return 1
