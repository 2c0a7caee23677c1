"""`memo-desktop record` and `memo-desktop devices`: recording without the GUI.

`record` first says what the recovery pass found (it runs whenever the library is opened: recordings a crash
interrupted become memos marked recovered), then records until --seconds, Ctrl-C (SIGINT) or SIGTERM; every way of
stopping keeps the memo. It prints the memo id, its path and the upload job id (or why the memo stayed local).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from memo_desktop.cli.common import app_context, print_json, queue_pending_uploads
from memo_desktop.core.errors import MemoError
from memo_desktop.core.pipeline import AddResult
from memo_desktop.core.recorder import Recorder, RecordingResult, list_input_devices
from memo_desktop.core.recordings import library_hook

_PROGRESS_INTERVAL = 0.25


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record a memo from the microphone (Ctrl-C stops and keeps it)")
    p.add_argument("--seconds", type=_positive_float, metavar="N", help="stop after N seconds")
    p.add_argument("--device", metavar="NAME",
                   help="input device: its name, part of it, or its index (default: the system default input)")
    p.add_argument("--title", help="the memo's title")
    p.set_defaults(handler=record)

    p = sub.add_parser("devices", help="list the audio input devices")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(handler=devices)


def record(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        for item, memo in ctx.open_library():
            print(f"recovered memo {memo.id} ({item.duration:.1f} s, from {item.created:%Y-%m-%d %H:%M})")
        added_results: list[AddResult] = []
        recorder = Recorder(ctx.settings, device=args.device, max_seconds=args.seconds,
                            on_finished=library_hook(ctx, added_results))
        with _stop_on_signals() as stop_requested:
            path = recorder.start(title=args.title)
            device = recorder.device.name if recorder.device else "?"
            print(f"recording from {device!r} to {path} (Ctrl-C to stop)", file=sys.stderr, flush=True)
            _wait_for_end(recorder, stop_requested)
            try:
                result = recorder.stop()
            except MemoError:
                print(f"the recording is kept in {recorder.path.parent if recorder.path else ctx.settings.audio_dir}; "
                      "the next recovery pass adds it to the library", file=sys.stderr)
                raise
        if ctx.recovered:
            queue_pending_uploads(ctx)  # the recovered memos too
        return _report(result, added_results[0] if added_results else None)


def _wait_for_end(recorder: Recorder, stop_requested: threading.Event) -> None:
    show_progress = sys.stderr.isatty()
    while not stop_requested.is_set():
        if recorder.wait(_PROGRESS_INTERVAL) is not None:
            break
        if show_progress:
            level = recorder.level
            sys.stderr.write(f"\r  {recorder.elapsed:7.1f} s   peak {level.peak_dbfs:6.1f} dBFS   "
                             f"rms {level.rms_dbfs:6.1f} dBFS ")
            sys.stderr.flush()
    if show_progress:
        sys.stderr.write("\n")


def _report(result: RecordingResult, added: AddResult | None) -> int:
    assert added is not None  # the hook ran, or stop() would have raised its error
    print(f"memo {added.memo.id}")
    print(f"path {added.memo.audio_path}")
    print(f"duration {result.duration:.1f} s")
    if added.job_id:
        print(f"upload job {added.job_id}")
    else:
        print(f"not uploaded: {added.message}")
    if result.error is not None:
        print(f"memo-desktop: error: {result.message}", file=sys.stderr)
        return 1
    if result.overflows or result.dropped_blocks:
        print(f"memo-desktop: warning: {result.message}", file=sys.stderr)
    return 0


class _stop_on_signals:
    """SIGINT and SIGTERM set an event instead of killing the process, so the recording is finalised and kept."""

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> threading.Event:
        self._event = threading.Event()
        self._previous = {sig: signal.signal(sig, self._handle) for sig in self._SIGNALS}
        return self._event

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._event.set()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def devices(args: argparse.Namespace) -> int:
    inputs = list_input_devices()
    if args.json:
        print_json([d.to_dict() for d in inputs])
        return 0
    if not inputs:
        print("no audio input devices (connect a microphone or start the sound server)")
        return 0
    for d in inputs:
        mark = "*" if d.is_default else " "
        print(f"{mark} [{d.index}] {d.name}  ({d.host_api}, {d.max_input_channels} ch, "
              f"{d.default_sample_rate:.0f} Hz)")
    return 0


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value
