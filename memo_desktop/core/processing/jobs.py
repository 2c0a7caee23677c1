"""The body of a `file-process` job: fetch the object, run analyze / compress / transcribe, store the results.

    payload  {fileId, s3Key, mimeType, operation, options?}
    result   {success, fileId, operation, s3Key, ...what the operation made, libraryUpdated}

Results always go to the object store (next to the audio, see `keys`) and into the job result. The memo in the
library is updated only where it lives: a headless worker with another data dir has no such memo, and the machine
that owns it takes the results in later (`pickup.pick_up_result`, `pickup.load_transcript`).

Failures that another attempt cannot fix fail at once (PermanentJobError subclasses): bad options, a missing
[transcribe] extra or model, an object that is gone (SourceMissing), a file that is not audio (CorruptAudio),
rejected store credentials. Everything else (store or Redis hiccups) is retried with the queue's backoff.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import CorruptAudio, ObjectNotFound, SourceMissing
from memo_desktop.core.processing import analyze, compress, transcribe
from memo_desktop.core.processing.request import ProcessRequest, Report, StageProgress
from memo_desktop.core.processing.workspace import job_workspace

DOWNLOADED = 5.0  # percent of the job done once the source is here


class Operation(Protocol):
    def run(self, source: Path, workspace: Path, progress: StageProgress) -> dict[str, Any]: ...


# Each validates its options (and what it needs installed) before anything is downloaded.
PREPARE: dict[str, Callable[[AppContext, ProcessRequest], Operation]] = {
    "analyze": analyze.prepare,
    "compress": compress.prepare,
    "transcribe": transcribe.prepare,
}


def run_process(ctx: AppContext, payload: Mapping[str, Any], progress: Report) -> dict[str, Any]:
    request = ProcessRequest.from_payload(payload)
    operation = PREPARE[request.operation](ctx, request)
    try:
        with job_workspace(ctx.settings) as workspace:
            source = download_source(ctx, request.source_key, workspace)
            progress(DOWNLOADED)
            details = operation.run(source, workspace, StageProgress(progress, DOWNLOADED, 100.0))
    except CorruptAudio as exc:
        raise CorruptAudio(f"memo {request.memo_id}: {exc}") from None  # the file name alone may not say which memo
    progress(100.0)
    return {"success": True, "fileId": request.memo_id, "operation": request.operation,
            "s3Key": request.source_key, **details}


def download_source(ctx: AppContext, key: str, workspace: Path) -> Path:
    """The object to process, in the workspace under its own file name (libsndfile looks at the extension for
    formats it cannot sniff). A missing object is SourceMissing: it will not appear by retrying."""
    dest = workspace / "source" / (posixpath.basename(key) or "audio")
    try:
        return ctx.object_store.download(key, dest)
    except ObjectNotFound as exc:
        raise SourceMissing(f"{key} is not in the object store (deleted, or never uploaded): {exc}") from None
