"""Library + queue operations on memos (see the package docstring)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import LibraryError, PayloadError, RedisRefused, RedisUnavailable
from memo_desktop.core.jobs.contract import OPERATIONS, QueueKind
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.library.audio_file import file_sha256
from memo_desktop.core.queueing.priorities import Priority
from memo_desktop.core.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddResult:
    memo: Memo
    job_id: str | None
    message: str


def upload_payload(memo: Memo, device: str) -> dict:
    return {"memoId": memo.id, "filename": memo.filename, "mimeType": memo.mime_type, "size": memo.size,
            "path": str(memo.audio_path.resolve()), "sha256": memo.sha256, "device": device}


def add_memo(ctx: AppContext, path: Path | str, *, title: str | None = None, recovered: bool = False,
             move: bool = False, memo_id: str | None = None, created_at: float | None = None,
             priority: Priority | str | None = None) -> AddResult:
    """Take an audio file into the library and, if automatic upload is on, queue its upload (at `priority`)."""
    priority = Priority.parse(priority)  # a bad one is refused before anything is added
    memo = ctx.library.add_file(path, title=title, memo_id=memo_id, recovered=recovered, move=move,
                                created_at=created_at)
    if not ctx.settings.auto_upload:
        return AddResult(memo, None, "kept local: automatic upload is off")
    return queue_upload(ctx, memo, priority)


def queue_upload(ctx: AppContext, memo: Memo, priority: Priority | str | None = None) -> AddResult:
    """Queue a memo's upload; with Redis down the memo stays `local` and is queued at the next chance."""
    try:
        job_id = ctx.jobs.enqueue(QueueKind.UPLOAD, upload_payload(memo, ctx.settings.device), priority=priority,
                                  title=memo.title)
    except RedisUnavailable as exc:
        memo = ctx.library.set_upload_state(memo.id, UploadState.LOCAL, error=str(exc))
        when = "once the setting is fixed" if isinstance(exc, RedisRefused) else "when Redis is reachable again"
        return AddResult(memo, None, f"kept local ({exc}); the upload is queued {when}")
    memo = ctx.library.set_upload_state(memo.id, UploadState.QUEUED, job_id=job_id)
    return AddResult(memo, job_id, f"upload queued as job {job_id}")


def add_file_upload_job(ctx: AppContext, memo_id: str, priority: Priority | str | None = None) -> str | None:
    """The origin design's `addFileUploadJob(memoId)`: queue (or find the live) upload job; returns its id."""
    return queue_upload(ctx, ctx.library.get(memo_id), priority).job_id


def import_or_requeue(ctx: AppContext, path: Path | str, memo_id: str | None, title: str | None,
                      priority: Priority | str | None = None) -> AddResult:
    """`memo-desktop upload FILE [--memo ID]`: a new memo, or the same file again for an existing memo id."""
    priority = Priority.parse(priority)
    if memo_id is not None:
        try:
            memo = ctx.library.get(memo_id)
        except LibraryError:
            memo = None
        if memo is not None:
            if file_sha256(Path(path)) != memo.sha256:
                raise LibraryError(f"memo {memo_id} already exists with different audio; choose another --memo id")
            return queue_upload(ctx, memo, priority)
    result = add_memo(ctx, path, title=title, memo_id=memo_id, priority=priority)
    if result.job_id is None and not ctx.settings.auto_upload:
        # an explicit `upload` uploads even when automatic upload is off
        return queue_upload(ctx, result.memo, priority)
    return result


def requeue_pending(ctx: AppContext, priority: Priority | str | None = None) -> list[str]:
    """Queue every memo that needs uploading and has no live job (after a crash, a restart or a Redis outage).

    With automatic upload off, a memo nobody asked to upload (`local`) stays local; one that was queued is queued
    again."""
    priority = Priority.parse(priority)
    job_ids = []
    for memo in ctx.library.memos_needing_upload():
        if memo.upload_state is UploadState.LOCAL and not ctx.settings.auto_upload:
            continue
        if memo.job_id and ctx.jobs.is_live(memo.job_id):
            continue
        result = queue_upload(ctx, memo, priority)
        if result.job_id is None:
            break  # Redis is down: the rest waits for the next pass
        job_ids.append(result.job_id)
    if job_ids:
        log.info("re-queued %d pending upload(s)", len(job_ids))
    return job_ids


def delete_memo(ctx: AppContext, memo_id: str) -> str | None:
    """Delete a memo here and queue the deletion of its objects; returns the delete job's id (None if none needed).

    The deletion is queued *before* the local copy goes: if Redis is unreachable the memo is kept and the error
    says why, so an uploaded copy is never orphaned.
    """
    memo = ctx.library.get(memo_id)
    job_id = None
    if memo.object_key or any(v.object_key for v in memo.variants) or memo.upload_state is UploadState.UPLOADING:
        job_id = ctx.jobs.enqueue(QueueKind.DELETE, {"fileId": memo.id, "s3Key": ObjectStore.memo_prefix(memo.id)},
                                  title=memo.title)
    ctx.library.delete(memo_id)
    return job_id


def queue_process(ctx: AppContext, memo_id: str, operation: str, options: dict | None = None,
                  priority: Priority | str | None = None) -> str:
    """Queue analyze / compress / transcribe of an uploaded memo (at `priority`, default normal); returns the job
    id."""
    priority = Priority.parse(priority)
    if operation not in OPERATIONS:
        raise PayloadError(f"unknown operation '{operation}' (use {', '.join(OPERATIONS)})")
    memo = ctx.library.get(memo_id)
    if memo.upload_state is not UploadState.UPLOADED or not memo.object_key:
        raise LibraryError(f"memo {memo_id} is not uploaded yet (state: {memo.upload_state.value}); "
                           "processing reads it from the object store")
    return ctx.jobs.enqueue(QueueKind.PROCESS, process_payload(memo, operation, options), priority=priority,
                            title=memo.title)


def process_payload(memo: Memo, operation: str, options: dict | None = None) -> dict:
    payload = {"fileId": memo.id, "s3Key": memo.object_key, "mimeType": memo.mime_type, "operation": operation}
    if options:
        payload["options"] = options
    return payload
