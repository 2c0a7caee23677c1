"""What a schedule does: each action over this machine's library (see `core.queueing.schedules`).

    analyze-unanalyzed                 queue `analyze` for uploaded memos without an analysis
    transcribe-untranscribed           queue `transcribe` for uploaded memos without a transcript
    compress-older-than:DAYS           queue `compress` (the `compress_format` setting) for uploaded memos older than
                                       DAYS that have no such copy yet
    requeue-local                      queue the upload of memos still waiting for one
    purge-local-audio-older-than:DAYS  delete the local audio of memos older than DAYS whose upload is verified

Scheduled work is automatic work: its jobs are queued at low priority. A memo whose job for the same work is a
dead letter (it failed for good) is skipped rather than queued again at every tick, and so is one whose job is
still waiting or running. Every run is recorded (`ScheduleStore.record`): what it queued, what it skipped and
every problem, one line per memo.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Callable

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import MemoError
from memo_desktop.core.jobs.contract import QueueKind, job_id_for
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.pipeline.local_audio import purge_local_audio
from memo_desktop.core.pipeline.memos import process_payload, queue_process, requeue_pending
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.priorities import Priority
from memo_desktop.core.queueing.schedules import Schedule, ScheduleAction, ScheduleRun, ScheduleStore

log = logging.getLogger(__name__)

ShouldStop = Callable[[], bool]


@dataclass
class ActionOutcome:
    enqueued: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def device_schedules(ctx: AppContext) -> ScheduleStore:
    """The schedules of this context's device (the ones its library's processes run)."""
    return ScheduleStore(ctx.redis, ctx.settings.device)


def run_now(ctx: AppContext, name: str) -> ScheduleRun:
    """Run a schedule's action now, here (`schedule run`, the dialog's and the page's Run now)."""
    return run_schedule(ctx, device_schedules(ctx).get(name), "manual", None)


def run_schedule(ctx: AppContext, schedule: Schedule, trigger: str, tick: float | None,
                 should_stop: ShouldStop = lambda: False) -> ScheduleRun:
    """Run a schedule's action now and record the run (also when the action failed as a whole)."""
    started = time.time()
    outcome = ActionOutcome()
    try:
        run_action(ctx, schedule.action, outcome, should_stop)
    except MemoError as exc:  # e.g. Redis went away midway: what was done is recorded with the reason it stopped
        outcome.errors.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in an action is logged and recorded; the ticker goes on
        log.exception("schedule %s: its action failed", schedule.name)
        outcome.errors.append(f"unexpected error: {type(exc).__name__}: {exc}")
    run = ScheduleRun(schedule.name, str(schedule.action), trigger, tick, started, time.time(),
                      f"{socket.gethostname()}:{os.getpid()}", tuple(outcome.enqueued[:ScheduleRun.MAX_IDS]),
                      len(outcome.enqueued), len(outcome.purged), outcome.skipped, tuple(outcome.errors[:100]))
    ScheduleStore(ctx.redis, schedule.device).record(run)
    log.info("schedule %s (%s, %s): queued %d, purged %d, skipped %d, %d problem(s)", schedule.name,
             schedule.action, trigger, run.enqueued_count, run.purged_count, run.skipped, len(run.errors))
    return run


def run_action(ctx: AppContext, action: ScheduleAction, outcome: ActionOutcome,
               should_stop: ShouldStop = lambda: False) -> ActionOutcome:
    if action.kind == "requeue-local":
        outcome.enqueued += requeue_pending(ctx, Priority.LOW)
        return outcome
    cutoff = time.time() - action.days * 86400 if action.days is not None else None
    for memo in ctx.library.list():
        if should_stop():
            outcome.errors.append("stopped before the end (the process is stopping)")
            break
        if cutoff is not None and memo.created_at > cutoff:
            continue
        try:
            _act_on(ctx, action, memo, outcome)
        except MemoError as exc:
            outcome.errors.append(f"memo {memo.id}: {exc}")
    return outcome


def _act_on(ctx: AppContext, action: ScheduleAction, memo: Memo, outcome: ActionOutcome) -> None:
    if memo.upload_state is not UploadState.UPLOADED or not memo.object_key:
        return
    if action.kind == "purge-local-audio-older-than":
        if not memo.audio_local:
            return
        problem = purge_local_audio(ctx, memo)
        if problem:
            outcome.skipped += 1
            outcome.errors.append(f"memo {memo.id}: local audio kept: {problem}")
        else:
            outcome.purged.append(memo.id)
        return
    operation = _operation_needed(ctx, action, memo)
    if operation is None:
        return
    job_id = job_id_for(QueueKind.PROCESS, process_payload(memo, operation))
    if dead_letters.contains(ctx.redis, job_id) or ctx.jobs.is_live(job_id):
        outcome.skipped += 1
        return
    outcome.enqueued.append(queue_process(ctx, memo.id, operation, priority=Priority.LOW))


def _operation_needed(ctx: AppContext, action: ScheduleAction, memo: Memo) -> str | None:
    if action.kind == "analyze-unanalyzed":
        return "analyze" if not memo.analysis else None
    if action.kind == "transcribe-untranscribed":
        from memo_desktop.core.processing.local_results import transcript_paths  # the processing code: lazily

        return "transcribe" if not transcript_paths(ctx.library, memo.id)["json"].is_file() else None
    if action.kind == "compress-older-than":
        return "compress" if memo.variant(ctx.settings.compress_format) is None else None
    raise MemoError(f"unknown action {action}")  # parse() refuses these; a newer version's action, say so
