"""The memo library as a table: immutable Memo lists from the library, plus live upload and transcription progress
(with the time left) from job events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QIcon

from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.monitor.eta import ProgressEta
from memo_desktop.ui import icons
from memo_desktop.ui.formatting import format_duration, format_progress, format_size, format_timestamp
from memo_desktop.ui.row_table_model import CENTER, RIGHT, Column, RowTableModel

_STATE_TEXT = {
    UploadState.LOCAL: "local",
    UploadState.QUEUED: "queued",
    UploadState.UPLOADING: "uploading",
    UploadState.UPLOADED: "uploaded",
    UploadState.FAILED: "failed",
}


@dataclass(frozen=True)
class Transcribing:
    """A transcription of the memo running somewhere: its progress and estimated time left."""

    progress: int
    seconds_left: float | None = None


@dataclass(frozen=True)
class MemoItem:
    memo: Memo
    upload_progress: int | None = None  # 0-100 while an upload job reports progress
    transcribing: Transcribing | None = None


def language_text(memo: Memo) -> str:
    """`en`, or with a detection's confidence `de (63%)`; "" without a transcript."""
    if not memo.transcript or not memo.transcript_language:
        return ""
    if memo.transcript_language_probability is None:
        return memo.transcript_language
    return f"{memo.transcript_language} ({memo.transcript_language_probability:.0%})"


def _transcript_text(item: MemoItem) -> str:
    if item.transcribing is not None:
        return format_progress(item.transcribing.progress, item.transcribing.seconds_left)  # under its bar
    return language_text(item.memo) or ("yes" if item.memo.transcript else "")


def _transcript_progress(item: MemoItem) -> int | None:
    return item.transcribing.progress if item.transcribing is not None else None


def _transcript_tooltip(item: MemoItem) -> str:
    memo = item.memo
    if item.transcribing is not None:
        return "Transcription running"
    if not memo.transcript:
        return "No transcript yet"
    if memo.transcript_language_probability is None:
        return f"Transcript language: {memo.transcript_language or 'unknown'}"
    return (f"Transcript language: {memo.transcript_language}, detected with probability "
            f"{memo.transcript_language_probability:.2f}")


def _upload_text(item: MemoItem) -> str:
    if item.upload_progress is not None and item.memo.upload_state is not UploadState.UPLOADED:
        return f"uploading {item.upload_progress}%"
    if not item.memo.audio_local:
        return "in the store"
    return _STATE_TEXT[item.memo.upload_state]


def _upload_progress(item: MemoItem) -> int | None:
    if item.memo.upload_state is UploadState.UPLOADED:
        return None
    return item.upload_progress


_STATE_COLOURS = {UploadState.UPLOADED: QColor("#188038"), UploadState.FAILED: QColor("#b3261e")}


def _upload_colour(item: MemoItem) -> QColor | None:
    return _STATE_COLOURS.get(item.memo.upload_state)


def _upload_tooltip(item: MemoItem) -> str:
    memo = item.memo
    parts = [f"upload: {memo.upload_state.value}"]
    if memo.upload_error:
        parts.append(memo.upload_error)
    if memo.job_id:
        parts.append(f"job {memo.job_id}")
    if not memo.audio_local:
        parts.append("the local copy was purged; playing fetches it from the object store")
    return "\n".join(parts)


def _title_tooltip(item: MemoItem) -> str:
    memo = item.memo
    text = memo.title
    if memo.recovered:
        text += "\nRecovered after an interrupted recording"
    if memo.transcript:
        text += "\n\n" + memo.transcript[:300]
    return text


def _recovered_icon(item: MemoItem) -> QIcon | None:
    return icons.icon("recovered") if item.memo.recovered else None


class MemoTableModel(RowTableModel[MemoItem]):
    title_edited = Signal(str, str)  # memo id, new title: the owner renames it in the library (off-thread)

    TITLE, DATE, DURATION, SIZE, UPLOAD, TRANSCRIPT = range(6)
    columns = (
        Column("Title", lambda i: i.memo.title, tooltip=_title_tooltip, decoration=_recovered_icon),
        Column("Date", lambda i: format_timestamp(i.memo.created_at)),
        Column("Duration", lambda i: format_duration(i.memo.duration), align=RIGHT),
        Column("Size", lambda i: format_size(i.memo.size), align=RIGHT),
        Column("Upload", _upload_text, align=CENTER, progress=_upload_progress, tooltip=_upload_tooltip,
               foreground=_upload_colour),
        Column("Transcript", _transcript_text, align=CENTER, progress=_transcript_progress,
               tooltip=_transcript_tooltip),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._progress: dict[str, int] = {}  # memo id -> last reported upload progress
        self._transcribing: dict[str, Transcribing] = {}  # memo id -> its running transcription
        self.eta = ProgressEta()
        self._hidden: frozenset[str] = frozenset()  # memos deleted but still inside their undo window
        self._memos: tuple[Memo, ...] = ()

    def key(self, row: MemoItem) -> str:
        return row.memo.id

    # -- in-place rename (F2): the model only reports the edit; the library is the source of truth ---------------
    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == self.TITLE:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.EditRole and index.isValid() and index.column() == self.TITLE:
            item = self.row_at(index)
            return item.memo.title if item is not None else None
        return super().data(index, role)

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        item = self.row_at(index)
        if role != Qt.ItemDataRole.EditRole or item is None or index.column() != self.TITLE:
            return False
        title = " ".join(str(value).split())
        if not title or title == item.memo.title:
            return False
        self.title_edited.emit(item.memo.id, title)
        return True

    def set_memos(self, memos: Sequence[Memo]) -> None:
        """A fresh listing from the library (progress of uploads still running is kept)."""
        live = {m.id for m in memos if m.upload_state in (UploadState.QUEUED, UploadState.UPLOADING)}
        self._progress = {k: v for k, v in self._progress.items() if k in live}
        self._memos = tuple(memos)
        self._publish()

    def hide(self, memo_ids: Iterable[str]) -> None:
        """Take memos out of view at once (their deletion waits for the undo window)."""
        self._hidden = self._hidden | frozenset(memo_ids)
        self._publish()

    def drop(self, memo_ids: Iterable[str]) -> None:
        """Memos deleted from the library: gone from view for good (without waiting for the next listing)."""
        gone = frozenset(memo_ids)
        self._memos = tuple(m for m in self._memos if m.id not in gone)
        self._hidden = self._hidden - gone
        self._publish()

    def unhide(self, memo_ids: Iterable[str]) -> None:
        self._hidden = self._hidden - frozenset(memo_ids)
        self._publish()

    def memo(self, memo_id: str) -> Memo | None:
        item = self.row_for(memo_id)
        return item.memo if item is not None else None

    def apply_job_events(self, events: Iterable[JobEvent]) -> bool:
        """Live upload and transcription progress; returns True when an upload ended (the library holds its new
        state: refresh)."""
        ended = False
        for event in events:
            transcribed = self._memo_of(event.job_id, "process-transcribe-")
            if transcribed is not None:
                self._apply_transcription_event(transcribed, event)
                continue
            memo_id = self._memo_of(event.job_id, "upload-")
            if memo_id is None:
                continue
            if event.state == JobState.ACTIVE.value:
                self._progress[memo_id] = max(0, min(100, event.progress))
            elif event.state in (JobState.COMPLETED.value, JobState.FAILED.value, JobState.WAITING.value,
                                 JobState.SCHEDULED.value, JobState.CANCELED.value):
                self._progress.pop(memo_id, None)
                ended = True
            self._republish(memo_id)
        return ended

    def _apply_transcription_event(self, memo_id: str, event: JobEvent) -> None:
        seconds_left = self.eta.follow(event)
        if event.state == JobState.ACTIVE.value:
            self._transcribing[memo_id] = Transcribing(max(0, min(100, event.progress)), seconds_left)
        else:
            self._transcribing.pop(memo_id, None)
        self._republish(memo_id)

    def _memo_of(self, job_id: str, prefix: str) -> str | None:
        """The listed memo a job is for: upload jobs are `upload-<memo id>-<hex>`, transcribe jobs
        `process-transcribe-<memo id>-<hex>` (core.jobs.contract.job_id_for)."""
        if not job_id.startswith(prefix):
            return None
        memo_id = job_id[len(prefix):].rsplit("-", 1)[0]
        return memo_id if self.row_of(memo_id) is not None else None

    def _item(self, memo: Memo) -> MemoItem:
        return MemoItem(memo, self._progress.get(memo.id), self._transcribing.get(memo.id))

    def _republish(self, memo_id: str) -> None:
        item = self.row_for(memo_id)
        if item is not None:
            self.replace_row(self._item(item.memo))

    def _publish(self) -> None:
        self.set_rows([self._item(m) for m in self._memos if m.id not in self._hidden])

    def replace_memo(self, memo: Memo) -> None:
        """One memo changed (e.g. renamed): show it without waiting for the next listing."""
        self._memos = tuple(memo if m.id == memo.id else m for m in self._memos)
        self.replace_row(self._item(memo))
