"""The details of the selected memo: title, analysis figures, compressed copies, and the transcript as timed segments.

The memo itself comes from the library listing (immutable, already on the GUI thread). The transcript's segments are
not in the listing: `load_transcript` reads them from disk or downloads them from the object store, so they load on
the background runner, and only for a memo whose library record has transcript text (a memo without one shows
"No transcript yet" without asking the store).

The transcript is a list of segments, each a line `[0:07.3–0:11.0] text` (plain text: user words are never markup).
Clicking a segment asks for playback from its start (`seek_requested`); `show_position` (fed by the player while it
plays) highlights the segment being spoken; with a search active (`set_search`), the first segment that matches is
highlighted when the transcript arrives and `search_hit_found` tells its time, so the memo opens at that moment.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListWidget, QListWidgetItem, QTextBrowser, QVBoxLayout, QWidget

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import ProcessingError
from memo_desktop.core.library import Memo, Variant
from memo_desktop.core.processing import load_transcript
from memo_desktop.core.transcribe import Transcript
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.formatting import format_duration, format_size
from memo_desktop.ui.memo_table_model import language_text

NO_MEMO_TEXT = "Select a memo to see its details and transcript."
NO_TRANSCRIPT_TEXT = "No transcript yet."
LOADING_TEXT = "Loading the transcript…"
SEGMENT_TIP = "Click a segment to play the memo from there"


# -- what the pane says: plain functions of immutable values ---------------------------------------------------------
def format_offset(seconds: float) -> str:
    """A segment's time: `0:07.3`, `12:34.0`."""
    tenths = int(max(0.0, seconds) * 10) % 10
    return f"{format_duration(seconds)}.{tenths}"


def _dbfs(value: Any) -> str:
    return "silence" if value is None else f"{value:.1f} dBFS"


def analysis_lines(analysis: Mapping[str, Any]) -> list[str]:
    """The analysis figures worth reading (keys as in core.audio.analysis.AudioAnalysis.as_dict)."""
    if not analysis:
        return []
    channels = {1: "mono", 2: "stereo"}.get(analysis.get("channels"), f"{analysis.get('channels')} channels")
    return [f"Duration {format_duration(analysis.get('duration', 0.0))}, {analysis.get('sampleRate')} Hz {channels} "
            f"{analysis.get('format', '')}".rstrip(),
            f"Peak {_dbfs(analysis.get('peakDbfs'))}, RMS {_dbfs(analysis.get('rmsDbfs'))}",
            f"Silence {analysis.get('silenceRatio', 0.0):.0%}, clipping {analysis.get('clippingRatio', 0.0):.2%}"]


def variant_lines(variants: Sequence[Variant]) -> list[str]:
    return [f"{v.format.upper()} {format_size(v.size)}" + (" (uploaded)" if v.object_key else " (local)")
            for v in variants]


def details_html(memo: Memo) -> str:
    facts = [f"Upload: {memo.upload_state.value}"]
    facts += analysis_lines(memo.analysis) or ["Not analyzed yet"]
    facts += [f"Compressed: {line}" for line in variant_lines(memo.variants)]
    language = language_text(memo)
    if language:
        facts.append(f"Transcript language: {language}")
    return (f"<h3>{html.escape(memo.title)}</h3>"
            + "<p>" + "<br>".join(html.escape(line) for line in facts) + "</p>")


def segment_line(start: float, end: float, text: str) -> str:
    return f"[{format_offset(start)}–{format_offset(end)}] {text.strip()}"


def first_match(transcript: Transcript, search: str) -> int | None:
    """The first segment holding every word of `search` (case-insensitive), else the first holding any of them."""
    words = search.lower().split()
    if not words:
        return None
    texts = [segment.text.lower() for segment in transcript.segments]
    for matches in (all, any):
        for index, text in enumerate(texts):
            if matches(word in text for word in words):
                return index
    return None


class MemoDetailsWidget(QWidget):
    seek_requested = Signal(float)  # seconds into the shown memo: play it from there (a segment was clicked)
    search_hit_found = Signal(str, float)  # memo id, seconds: where the active search matched its transcript

    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._context = context
        self._memo: Memo | None = None
        self._transcript: Transcript | None = None
        self._transcript_note = NO_TRANSCRIPT_TEXT
        self._search = ""
        self._rows: list[int] = []  # list row -> segment index (segments without text are not listed)
        self.view = QTextBrowser(self)
        self.view.setOpenLinks(False)
        self.transcript_label = QLabel("Transcript", self)
        self.transcript_label.setStyleSheet("font-weight: bold;")
        self.segments = QListWidget(self)
        self.segments.setWordWrap(True)
        self.segments.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.segments.setToolTip(SEGMENT_TIP)
        self.segments.itemClicked.connect(self._on_segments_item_clicked)
        self.segments.itemActivated.connect(self._on_segments_item_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.transcript_label)
        layout.addWidget(self.segments, 2)
        self._render()

    # -- public ---------------------------------------------------------------------------------------------------
    @property
    def memo(self) -> Memo | None:
        return self._memo

    @property
    def transcript(self) -> Transcript | None:
        return self._transcript

    def text(self) -> str:
        """What the pane shows, as plain text (the segments one per line after "Transcript")."""
        lines = [self.view.toPlainText(), self.transcript_label.text()]
        lines += [self.segments.item(row).text() for row in range(self.segments.count())]
        return "\n".join(lines)

    def highlighted_segment(self) -> int | None:
        """The index (in the transcript) of the highlighted segment, or None."""
        row = self.segments.currentRow()
        return self._rows[row] if 0 <= row < len(self._rows) and self.segments.currentItem().isSelected() else None

    def segment_row(self, index: int) -> int | None:
        """The list row showing transcript segment `index` (for tests and keyboard navigation)."""
        return self._rows.index(index) if index in self._rows else None

    def set_memo(self, memo: Memo | None) -> None:
        """Show `memo` (None: nothing or several selected). A new memo, or new transcript text, loads the
        transcript again; any other change (a rename, a fresh analysis) only repaints."""
        previous, self._memo = self._memo, memo
        if memo == previous:
            return
        if memo is None or previous is None or memo.id != previous.id or memo.transcript != previous.transcript:
            self._transcript = None
            self._transcript_note = LOADING_TEXT if memo is not None and memo.transcript else NO_TRANSCRIPT_TEXT
            if memo is not None and memo.transcript:
                memo_id = memo.id
                self._runner.submit(load_transcript, self._context(), memo_id, key="memo-transcript",
                                    on_result=lambda t: self._on_transcript_loaded(memo_id, t),
                                    on_error=lambda exc: self._on_transcript_failed(memo_id, exc), owner=self)
            self._render_segments()
        self._render()

    def set_search(self, search: str) -> None:
        """The library's search words: a transcript shown opens at the first segment they match."""
        self._search = search.strip()
        if self._transcript is not None:
            self._open_at_search_hit()

    def show_position(self, path: Path | None, seconds: float) -> None:
        """The player is at `seconds` of `path`: highlight the segment being spoken, if this memo is playing."""
        if self._memo is None or self._transcript is None or path != self._memo.audio_path:
            return
        index = self._transcript.segment_at(seconds)
        if index is not None and index in self._rows and index != self.highlighted_segment():
            self._highlight(index)

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_transcript_loaded(self, memo_id: str, transcript: Transcript) -> None:
        if self._memo is None or self._memo.id != memo_id:
            return
        self._transcript = transcript
        self._render_segments()
        self._open_at_search_hit()

    def _on_transcript_failed(self, memo_id: str, exc: BaseException) -> None:
        if self._memo is None or self._memo.id != memo_id:
            return
        self._transcript_note = (NO_TRANSCRIPT_TEXT if isinstance(exc, ProcessingError)
                                 else f"The transcript could not be loaded: {describe_error(exc)}")
        self._render_segments()

    def _on_segments_item_clicked(self, item: QListWidgetItem) -> None:
        row = self.segments.row(item)
        if self._transcript is not None and 0 <= row < len(self._rows):
            self.seek_requested.emit(self._transcript.segments[self._rows[row]].start)

    def _open_at_search_hit(self) -> None:
        hit = first_match(self._transcript, self._search) if self._search else None
        if self._memo is not None and hit is not None and hit in self._rows:
            self._highlight(hit)
            self.search_hit_found.emit(self._memo.id, self._transcript.segments[hit].start)

    # -- painting -------------------------------------------------------------------------------------------------
    def _highlight(self, index: int) -> None:
        row = self._rows.index(index)
        self.segments.setCurrentRow(row)
        self.segments.scrollToItem(self.segments.item(row), QAbstractItemView.ScrollHint.PositionAtCenter)

    def _render(self) -> None:
        if self._memo is None:
            self.view.setHtml(f"<p><i>{html.escape(NO_MEMO_TEXT)}</i></p>")
        else:
            self.view.setHtml(details_html(self._memo))

    def _render_segments(self) -> None:
        self.segments.clear()
        self._rows = []
        if self._memo is None:
            self.transcript_label.setText("Transcript")
            return
        if self._transcript is None:
            self.transcript_label.setText(f"Transcript: {self._transcript_note}")
            return
        self.transcript_label.setText("Transcript")
        for index, segment in enumerate(self._transcript.segments):
            if segment.text.strip():
                self.segments.addItem(QListWidgetItem(segment_line(segment.start, segment.end, segment.text)))
                self._rows.append(index)
        if not self._rows:
            self.transcript_label.setText("Transcript: no speech was recognised")
