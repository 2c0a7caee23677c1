"""Recordings into the memo library: the one place that joins the recorder to the library and the pipeline.

The recorder knows nothing of the library or the queue; the GUI and `memo-desktop record` pass
`library_hook(ctx)` as the Recorder's `on_finished`. The recovery pass (`recover_into_library`) runs whenever a
process first opens the library (`AppContext.library`), whatever the command: a recording interrupted by a crash is
listed by the very next `memo-desktop memos`. Recovered memos are added as `local`; the next process that queues
work (the GUI, a worker, `upload`, `record`) queues their upload with the other pending memos.

The memo id is the recording id, which makes the hand-over idempotent: a recording that reached the library but
whose note survived a crash is recognised on the next pass instead of being added twice. A file lock around the
pass makes two processes starting together safe: one recovers, the other then finds nothing left to do.
"""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import MemoError, MemoNotFound
from memo_desktop.core.library import Library, Memo
from memo_desktop.core.private_files import make_private_dir, open_private
from memo_desktop.core.recorder.recovery import RecoveredRecording, recover_unfinished

if TYPE_CHECKING:
    from memo_desktop.core.context import AppContext
    from memo_desktop.core.pipeline import AddResult
    from memo_desktop.core.recorder import RecordingResult

log = logging.getLogger(__name__)

RECOVERY_LOCK = ".recovery.lock"


def add_recording(ctx: AppContext, path: Path, recording_id: str, *, title: str | None,
                  started_at: datetime) -> AddResult:
    """Add a finished recording file as a memo (in place, no copy) and queue its upload."""
    from memo_desktop.core.pipeline import AddResult, add_memo

    try:
        memo = ctx.library.get(recording_id)
    except MemoNotFound:
        return add_memo(ctx, path, title=title, move=True, memo_id=recording_id,
                        created_at=started_at.timestamp())
    return AddResult(memo, memo.job_id, "already in the library")


def library_hook(ctx: AppContext, results: list[AddResult] | None = None) -> Callable[[RecordingResult], None]:
    """An `on_finished` hook for Recorder: adds the recording to the library; appends the AddResult to `results`."""

    def on_finished(result: RecordingResult) -> None:
        added = add_recording(ctx, result.path, result.recording_id, title=result.title,
                              started_at=result.started_at)
        if results is not None:
            results.append(added)

    return on_finished


def recover_into_library(library: Library, settings: Settings) -> list[tuple[RecoveredRecording, Memo]]:
    """Repair interrupted recordings and add them as memos marked recovered (state `local`).

    A recording that cannot be repaired or added is logged and left in place (its note stays for a later pass or a
    person); it never stops the library from opening.
    """
    added: list[tuple[RecoveredRecording, Memo]] = []

    def hand_over(item: RecoveredRecording) -> None:
        try:
            memo = library.get(item.recording_id)
        except MemoNotFound:
            memo = library.add_file(item.path, title=item.title, memo_id=item.recording_id, recovered=True,
                                    move=True, created_at=item.created.timestamp())
        added.append((item, memo))

    with _recovery_lock(settings.data_dir):
        try:
            recover_unfinished(settings.audio_dir, hand_over=hand_over)
        except MemoError as exc:
            log.error("recovery pass: %s", exc)
    if added:
        log.info("recovered %d interrupted recording(s)", len(added))
    return added


@contextmanager
def _recovery_lock(data_dir: Path) -> Iterator[None]:
    """Held for the whole pass, across processes (a second process waits, then finds nothing left)."""
    make_private_dir(data_dir)
    with open(open_private(data_dir / RECOVERY_LOCK, os.O_WRONLY | os.O_APPEND), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
