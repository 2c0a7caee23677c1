"""Taking in results that a worker on another machine produced for a memo that lives here.

A headless worker with another data dir cannot update this library; its results are in the object store and in the
job result. `pick_up_result` applies one completed job's result (the app calls it when its monitor sees a
file-process job complete); `load_transcript` finds a memo's transcript locally or, failing that, in the store
(and keeps a local copy when the memo lives here). Both are idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from memo_desktop.core.audio import CompressFormat
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import ObjectNotFound, ProcessingError
from memo_desktop.core.library import Memo
from memo_desktop.core.processing.keys import derived_key, transcript_name
from memo_desktop.core.processing.local_results import (local_memo, save_analysis, save_transcript, save_variant,
                                                        transcript_paths, variant_path)
from memo_desktop.core.processing.workspace import job_workspace
from memo_desktop.core.storage import ObjectStore
from memo_desktop.core.transcribe import Transcript, parse_json


def pick_up_result(ctx: AppContext, result: Mapping[str, Any]) -> bool:
    """Apply a completed file-process job's result to this library; False when the memo does not live here."""
    memo = local_memo(ctx.library, str(result.get("fileId", "")), str(result.get("s3Key", "")))
    if memo is None:
        return False
    operation = result.get("operation")
    if operation == "analyze":
        if memo.analysis != result["analysis"]:
            save_analysis(ctx.library, memo, result["analysis"])
    elif operation == "compress":
        _pick_up_variant(ctx, memo, result["variant"])
    elif operation == "transcribe":
        if not _has_transcript(ctx, memo, result):
            save_transcript(ctx.library, memo, _fetch_transcript(ctx, result["objectKeys"]["json"]))
    else:
        raise ProcessingError(f"not a file-process result (operation {operation!r})")
    return True


def load_transcript(ctx: AppContext, memo_id: str) -> Transcript:
    """A memo's transcript: this machine's copy, else the object store's (then kept here if the memo lives here).
    ProcessingError when there is none yet."""
    memo = local_memo(ctx.library, memo_id)
    local_json = transcript_paths(ctx.library, memo_id)["json"]
    if memo is not None and local_json.is_file():
        return parse_json(local_json.read_text(encoding="utf-8"))
    if memo is not None and not memo.object_key:
        raise ProcessingError(f"memo {memo_id} has no transcript: it is not uploaded yet, and transcription reads "
                              "it from the object store")
    key = (derived_key(memo.object_key, transcript_name("json")) if memo is not None
           else ObjectStore.memo_prefix(memo_id) + transcript_name("json"))
    try:
        transcript = _fetch_transcript(ctx, key)
    except ObjectNotFound:
        raise ProcessingError(f"memo {memo_id} has no transcript yet (queue one: memo-desktop process {memo_id} "
                              "transcribe)") from None
    if memo is not None:
        save_transcript(ctx.library, memo, transcript)
    return transcript


def _fetch_transcript(ctx: AppContext, key: str) -> Transcript:
    with job_workspace(ctx.settings) as workspace:
        path = ctx.object_store.download(key, workspace / "transcript.json")
        return parse_json(path.read_text(encoding="utf-8"))


def _pick_up_variant(ctx: AppContext, memo: Memo, variant: Mapping[str, Any]) -> None:
    fmt = CompressFormat.parse(variant["format"])
    key = variant["objectKey"]
    known = memo.variant(fmt.value)
    here = variant_path(ctx.library, memo.id, fmt)
    if known is not None and known.object_key == key and _has_size(here, variant.get("size")):
        return
    with job_workspace(ctx.settings) as workspace:
        downloaded = ctx.object_store.download(key, workspace / here.name)
        save_variant(ctx.library, memo, fmt, downloaded, key)


def _has_transcript(ctx: AppContext, memo: Memo, result: Mapping[str, Any]) -> bool:
    """Is this job's transcript already here? (an in-app worker saved it itself, or it was picked up before)"""
    local_json = transcript_paths(ctx.library, memo.id)["json"]
    if not local_json.is_file() or not memo.transcript:
        return False
    text = parse_json(local_json.read_text(encoding="utf-8")).text
    return text == memo.transcript and text[:len(result["text"])] == result["text"] and \
        (result.get("textTruncated") or len(text) == len(result["text"]))


def _has_size(path: Path, size: Any) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False
