"""The body of a `file-upload` job: local file -> object store, memo state kept in step."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rq import get_current_job

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import LibraryError, PermanentJobError, StorageError
from memo_desktop.core.jobs.progress import ProgressReporter
from memo_desktop.core.library import UploadState
from memo_desktop.core.library.audio_file import file_sha256
from memo_desktop.core.storage import ObjectStore


def _is_last_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def run_upload(ctx: AppContext, payload: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    memo_id = payload["memoId"]
    library = ctx.library
    try:
        library.get(memo_id)
    except LibraryError:
        raise PermanentJobError(f"memo {memo_id} is no longer in the library (deleted?); nothing to upload") from None
    path = Path(payload["path"])
    job = get_current_job()
    library.set_upload_state(memo_id, UploadState.UPLOADING, job_id=job.id if job else None)
    try:
        if not path.is_file():
            raise PermanentJobError(f"{path} no longer exists on this machine")
        store = ctx.object_store
        key = store.object_key_for(memo_id, payload["sha256"], path.suffix.lstrip("."))
        # a retried or repeated upload never duplicates data: same key, and skipped when the content is there
        if not store.has_object(key, payload["size"], payload["sha256"]):
            _upload_verified(store, path, key, payload, progress)
        url = store.presigned_url(key)
    except (StorageError, PermanentJobError, OSError) as exc:
        final = isinstance(exc, PermanentJobError) or _is_last_attempt()
        state = UploadState.FAILED if final else UploadState.QUEUED
        library.set_upload_state(memo_id, state, error=str(exc) if final else f"retrying: {exc}")
        raise
    library.set_upload_state(memo_id, UploadState.UPLOADED, object_key=key)
    queue_followups(ctx, memo_id)
    return {"success": True, "fileId": memo_id, "filename": payload["filename"], "url": url}


def _upload_verified(store: ObjectStore, path: Path, key: str, payload: dict[str, Any],
                     progress: ProgressReporter) -> None:
    """Upload while another thread re-hashes the file (one pass's time, not two); if the file changed since it was
    queued, the object is removed again and the job fails for good."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-hash") as hasher:
        digest = hasher.submit(file_sha256, path)
        store.upload(path, key, content_type=payload["mimeType"], sha256=payload["sha256"],
                     progress=progress.fraction)
        if digest.result() != payload["sha256"]:
            store.delete(key)
            raise PermanentJobError(f"{path} changed since its upload was queued (content hash differs)")


def queue_followups(ctx: AppContext, memo_id: str) -> None:
    """Processing that the settings ask for after every upload."""
    from memo_desktop.core.pipeline.memos import queue_process

    settings = ctx.settings
    for operation, wanted in (("analyze", settings.auto_analyze), ("compress", settings.auto_compress),
                              ("transcribe", settings.auto_transcribe)):
        if wanted:
            queue_process(ctx, memo_id, operation)
