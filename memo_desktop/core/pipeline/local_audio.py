"""A memo's local audio file: purged when its upload is verified (a schedule frees disk space), fetched back from
the object store when the memo is played (or needed) again.

Purging is refused unless the object store holds the memo's audio with the same size and the same SHA-256 (the
digest the upload job checked against the file as it sent it, kept as the object's metadata). Fetching downloads
next to the audio path, checks the digest, and only then puts the file in place: a damaged download never replaces
anything, and the memo is local again afterwards.
"""

from __future__ import annotations

import logging
from pathlib import Path

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import LibraryError, ObjectNotFound, StorageError
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.library.audio_file import file_sha256

log = logging.getLogger(__name__)


def upload_verified(ctx: AppContext, memo: Memo) -> str:
    """"" when the object store holds exactly this memo's audio; otherwise why not (for the schedule's record)."""
    if memo.upload_state is not UploadState.UPLOADED or not memo.object_key:
        return f"not uploaded ({memo.upload_state.value})"
    try:
        info = ctx.object_store.stat(memo.object_key)
    except ObjectNotFound:
        return f"its object {memo.object_key} is missing from the store"
    if info.size != memo.size:
        return f"its object has {info.size} bytes, the memo {memo.size}"
    if info.sha256 != memo.sha256:
        return "its object's SHA-256 is unknown" if not info.sha256 else "its object's SHA-256 differs"
    return ""


def purge_local_audio(ctx: AppContext, memo: Memo) -> str:
    """Delete the memo's local audio if its upload is verified; returns "" when purged, else the reason it was
    kept (StorageError when the store cannot be asked)."""
    if not memo.audio_local:
        return "already purged"
    problem = upload_verified(ctx, memo)
    if problem:
        return problem
    ctx.library.purge_local_audio(memo.id)
    log.info("purged the local audio of memo %s (verified in the object store as %s)", memo.id, memo.object_key)
    return ""


def fetch_audio(ctx: AppContext, memo: Memo) -> Memo:
    """The memo with its audio on this machine: as it is when local, else downloaded from the object store,
    verified against its SHA-256 and put back in place."""
    if memo.audio_local and memo.audio_path.is_file():
        return memo
    if not memo.object_key:
        raise LibraryError(f"the audio of '{memo.title}' is neither here nor uploaded ({memo.audio_path})")
    partial = memo.audio_path.with_name(memo.audio_path.name + ".fetch")
    try:
        ctx.object_store.download(memo.object_key, partial)
        if file_sha256(partial) != memo.sha256:
            raise StorageError(f"the stored audio of '{memo.title}' does not match its SHA-256; not used")
        return ctx.library.restore_local_audio(memo.id, partial)
    finally:
        Path(partial).unlink(missing_ok=True)
