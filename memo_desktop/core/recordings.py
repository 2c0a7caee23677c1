"""Recordings into the memo library: the one place that joins the recorder to the pipeline.

The recorder knows nothing of the library or the queue; the GUI and `memo-desktop record` pass
`library_hook(ctx)` as the Recorder's `on_finished`, and run `recover_into_library(ctx)` at start. The memo id is
the recording id, which makes the hand-over idempotent: a recording that reached the library but whose note
survived a crash is recognised on the next recovery pass instead of being added twice.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoNotFound
from memo_desktop.core.pipeline import AddResult, add_memo
from memo_desktop.core.recorder import RecordingResult, RecoveredRecording, recover_unfinished


def add_recording(ctx: AppContext, path: Path, recording_id: str, *, title: str | None, started_at: datetime,
                  recovered: bool = False) -> AddResult:
    """Add a finished recording file as a memo (in place, no copy) and queue its upload."""
    try:
        memo = ctx.library.get(recording_id)
    except MemoNotFound:
        return add_memo(ctx, path, title=title, recovered=recovered, move=True, memo_id=recording_id,
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


def recover_into_library(ctx: AppContext) -> list[tuple[RecoveredRecording, AddResult]]:
    """The launch-time recovery pass: repair interrupted recordings and add them as memos marked recovered."""
    added: list[tuple[RecoveredRecording, AddResult]] = []

    def hand_over(item: RecoveredRecording) -> None:
        added.append((item, add_recording(ctx, item.path, item.recording_id, title=item.title,
                                          started_at=item.created, recovered=True)))

    recover_unfinished(ctx.settings.audio_dir, hand_over=hand_over)
    return added
