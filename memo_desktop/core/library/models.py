"""What the library hands out: immutable memo records, safe to pass between threads (and to Qt as signal data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from memo_desktop.core.errors import LibraryError
from memo_desktop.core.ids import new_id


class UploadState(str, Enum):
    """Where a memo's audio is relative to the object store.

    local -> queued -> uploading -> uploaded, or -> failed (with `Memo.upload_error`). `local` also means "the queue
    was unreachable when the memo was added": the pipeline enqueues it later.
    """

    LOCAL = "local"
    QUEUED = "queued"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    FAILED = "failed"


@dataclass(frozen=True)
class Variant:
    """A derived copy of a memo's audio (e.g. a FLAC or Opus compression)."""

    format: str
    path: Path
    object_key: str = ""
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "path": str(self.path), "objectKey": self.object_key, "size": self.size}


@dataclass(frozen=True)
class Memo:
    id: str
    title: str
    created_at: float  # epoch seconds
    duration: float  # seconds
    audio_path: Path
    size: int  # bytes of the audio file
    mime_type: str
    sha256: str
    upload_state: UploadState = UploadState.LOCAL
    upload_error: str = ""
    object_key: str = ""
    job_id: str = ""
    recovered: bool = False  # repaired after a crash of the recorder
    transcript: str = ""
    transcript_language: str = ""  # e.g. "en", "de"; "" before a transcript exists
    transcript_language_probability: float | None = None  # how sure the detection was; None when it was given
    analysis: dict[str, Any] = field(default_factory=dict, hash=False)  # JSON object; treat as read-only
    variants: tuple[Variant, ...] = ()
    updated_at: float = 0.0

    @property
    def filename(self) -> str:
        """The name the audio goes by outside the app (upload jobs, downloads)."""
        return self.audio_path.name

    @property
    def extension(self) -> str:
        return self.audio_path.suffix.lstrip(".")

    def variant(self, fmt: str) -> Variant | None:
        return next((v for v in self.variants if v.format == fmt), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the queue payloads."""
        return {
            "id": self.id,
            "title": self.title,
            "createdAt": self.created_at,
            "duration": self.duration,
            "audioPath": str(self.audio_path),
            "size": self.size,
            "mimeType": self.mime_type,
            "sha256": self.sha256,
            "uploadState": self.upload_state.value,
            "uploadError": self.upload_error,
            "objectKey": self.object_key,
            "jobId": self.job_id,
            "recovered": self.recovered,
            "transcript": self.transcript,
            "transcriptLanguage": self.transcript_language,
            "transcriptLanguageProbability": self.transcript_language_probability,
            "analysis": self.analysis,
            "variants": [v.as_dict() for v in self.variants],
            "updatedAt": self.updated_at,
        }


# Ids become file names, object keys and job ids: keep them to characters that are safe in all three. Any id of
# this shape is accepted (older libraries hold 14-character ids; recordings use `rec-<time>-<random>`).
MEMO_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def new_memo_id(now: float | None = None) -> str:
    """A new memo's id: a ULID (see `core.ids`), so memos sort by creation time."""
    return new_id(now)


def check_memo_id(memo_id: str) -> str:
    if not isinstance(memo_id, str) or not MEMO_ID_PATTERN.fullmatch(memo_id):
        raise LibraryError(f"invalid memo id {memo_id!r}: use 1-64 lower-case letters, digits, '-' or '_'")
    return memo_id
