"""`memo-desktop process MEMO_ID analyze|compress|transcribe` and `memo-desktop transcript MEMO_ID`."""

from __future__ import annotations

import argparse
import sys

from memo_desktop.cli.common import app_context
from memo_desktop.core.jobs.contract import OPERATIONS
from memo_desktop.core.transcribe.formats import FORMATS

# The processing code (numpy, soundfile, the object store) is imported by the handlers, not when the parser is
# built: every other command starts without it.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("process", help="queue analyze, compress or transcribe of an uploaded memo (prints the job id)")
    p.add_argument("memo_id", metavar="MEMO_ID")
    p.add_argument("operation", choices=OPERATIONS)
    p.add_argument("--format", choices=("flac", "opus"),
                   help="compress: the format (default: the 'compress_format' setting)")
    p.add_argument("--bitrate", type=int, help="compress to Opus: bit/s (default: the 'opus_bitrate' setting)")
    p.add_argument("--language", help="transcribe: the spoken language, e.g. en or de (auto: detected; default: "
                                      "the 'transcribe_language' setting)")
    p.set_defaults(handler=queue_processing, process_parser=p)

    p = sub.add_parser("transcript", help="print a memo's transcript (from the object store if not here yet)")
    p.add_argument("memo_id", metavar="MEMO_ID")
    p.add_argument("--format", choices=FORMATS, default="txt", help="txt (default), srt, vtt or json")
    p.set_defaults(handler=print_transcript)


def queue_processing(args: argparse.Namespace) -> int:
    from memo_desktop.core.pipeline import queue_process
    from memo_desktop.core.transcribe import check_transcription_setup

    options = _options(args)
    with app_context(args) as ctx:
        if args.operation == "transcribe":
            # a wrong 'transcribe_model' path is a ConfigError here, before anything is queued
            setup = check_transcription_setup(ctx.settings)
            if not setup.available:
                print(f"note: {setup.reason}; a worker that has it installed can still run this job",
                      file=sys.stderr)
        job_id = queue_process(ctx, args.memo_id, args.operation, options or None)
    print(job_id)
    return 0


def print_transcript(args: argparse.Namespace) -> int:
    from memo_desktop.core.processing import load_transcript
    from memo_desktop.core.transcribe import render

    with app_context(args) as ctx:
        transcript = load_transcript(ctx, args.memo_id)
    sys.stdout.write(render(transcript, args.format))
    return 0


def _options(args: argparse.Namespace) -> dict:
    """Only what the command line names; the worker fills the rest from its settings. Refuses options that do not
    belong to the operation (they would fail the job)."""
    given = {"format": args.format, "bitrate": args.bitrate, "language": args.language}
    allowed = {"compress": {"format", "bitrate"}, "transcribe": {"language"}, "analyze": set()}[args.operation]
    wrong = sorted(name for name, value in given.items() if value is not None and name not in allowed)
    if wrong:
        args.process_parser.error(f"--{', --'.join(wrong)} does not apply to {args.operation}")
    return {name: value for name, value in given.items() if value is not None}
