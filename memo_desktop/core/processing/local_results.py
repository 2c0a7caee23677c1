"""Processing results into this machine's memo library, when the memo lives here.

A headless worker on another machine (another data dir) has no such memo: it leaves its results in the object store
and the job result, and the machine that owns the memo takes them in later (see `pickup`). Files next to the audio:

    <audio dir>/<memo id>.compressed.flac|.opus      the compressed variant (also a library variant)
    <audio dir>/<memo id>.transcript.json            the transcript with timestamps
    <audio dir>/<memo id>.txt | .srt | .vtt          its exports

Every file is written under a temporary name and renamed, so a reader never sees half a transcript.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

from memo_desktop.core.audio import CompressFormat
from memo_desktop.core.errors import MemoNotFound
from memo_desktop.core.library import Library, Memo
from memo_desktop.core.private_files import atomic_write, atomic_write_text, make_private_dir
from memo_desktop.core.transcribe import FORMATS, Transcript, render


def local_memo(library: Library, memo_id: str, source_key: str | None = None) -> Memo | None:
    """The memo if it lives in this library (and, given `source_key`, that object is its audio or a variant of it:
    a memo with the same id in an unrelated library is not the one processed)."""
    try:
        memo = library.get(memo_id)
    except MemoNotFound:
        return None
    if source_key is not None and source_key not in (memo.object_key, *(v.object_key for v in memo.variants)):
        return None
    return memo


def transcript_paths(library: Library, memo_id: str) -> dict[str, Path]:
    """Where a memo's transcript files are (or would be) in the audio dir, by format."""
    return {fmt: library.audio_dir / (f"{memo_id}.transcript.json" if fmt == "json" else f"{memo_id}.{fmt}")
            for fmt in FORMATS}


def variant_path(library: Library, memo_id: str, fmt: CompressFormat) -> Path:
    return library.audio_dir / f"{memo_id}.compressed.{fmt.extension}"


def save_analysis(library: Library, memo: Memo, analysis: Mapping[str, Any]) -> Memo:
    return library.set_analysis(memo.id, analysis)


def save_variant(library: Library, memo: Memo, fmt: CompressFormat, file: Path, object_key: str) -> Memo:
    """Move an encoded file (e.g. from a job workspace) into the audio dir and record it as the memo's variant."""
    dest = variant_path(library, memo.id, fmt)
    with atomic_write(dest) as pending:
        shutil.move(file, pending.path)  # a rename on one file system; a copy across file systems
    return library.add_variant(memo.id, fmt.value, dest, object_key=object_key, size=dest.stat().st_size)


def save_transcript(library: Library, memo: Memo, transcript: Transcript) -> Memo:
    """Write every export next to the audio, then make the text searchable in the library."""
    make_private_dir(library.audio_dir)
    for fmt, path in transcript_paths(library, memo.id).items():
        atomic_write_text(path, render(transcript, fmt))
    return library.set_transcript(memo.id, transcript.text, transcript.language, transcript.language_probability)
