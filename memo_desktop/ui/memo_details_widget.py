"""The details of the selected memo: title, analysis figures, compressed copies and the timed transcript.

The memo itself comes from the library listing (immutable, already on the GUI thread). The transcript's segments are
not in the listing: `load_transcript` reads them from disk or downloads them from the object store, so they load on
the background runner, and only for a memo whose library record has transcript text (a memo without one shows
"No transcript yet" without asking the store).
"""

from __future__ import annotations

import html
from typing import Any, Callable, Mapping, Sequence

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import ProcessingError
from memo_desktop.core.library import Memo, Variant
from memo_desktop.core.processing import load_transcript
from memo_desktop.core.transcribe import Transcript
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.formatting import format_duration, format_size

NO_MEMO_TEXT = "Select a memo to see its details and transcript."
NO_TRANSCRIPT_TEXT = "No transcript yet."
LOADING_TEXT = "Loading the transcript…"


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


def details_html(memo: Memo, transcript: Transcript | None, transcript_note: str) -> str:
    parts = [f"<h3>{html.escape(memo.title)}</h3>"]
    facts = [f"Upload: {memo.upload_state.value}"]
    facts += analysis_lines(memo.analysis) or ["Not analyzed yet"]
    facts += [f"Compressed: {line}" for line in variant_lines(memo.variants)]
    parts.append("<p>" + "<br>".join(html.escape(line) for line in facts) + "</p>")
    parts.append("<h4>Transcript</h4>")
    if transcript is None:
        parts.append(f"<p><i>{html.escape(transcript_note)}</i></p>")
    else:
        parts.append("<p>" + "<br>".join(
            f"<span style='color: gray;'>[{format_offset(s.start)}–{format_offset(s.end)}]</span> "
            f"{html.escape(s.text.strip())}" for s in transcript.segments if s.text.strip()) + "</p>")
    return "".join(parts)


class MemoDetailsWidget(QWidget):
    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._context = context
        self._memo: Memo | None = None
        self._transcript: Transcript | None = None
        self._transcript_note = NO_TRANSCRIPT_TEXT
        self.view = QTextBrowser(self)
        self.view.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._render()

    # -- public ---------------------------------------------------------------------------------------------------
    @property
    def memo(self) -> Memo | None:
        return self._memo

    def text(self) -> str:
        """What the pane shows, as plain text."""
        return self.view.toPlainText()

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
        self._render()

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_transcript_loaded(self, memo_id: str, transcript: Transcript) -> None:
        if self._memo is not None and self._memo.id == memo_id:
            self._transcript = transcript
            self._render()

    def _on_transcript_failed(self, memo_id: str, exc: BaseException) -> None:
        if self._memo is None or self._memo.id != memo_id:
            return
        self._transcript_note = (NO_TRANSCRIPT_TEXT if isinstance(exc, ProcessingError)
                                 else f"The transcript could not be loaded: {describe_error(exc)}")
        self._render()

    def _render(self) -> None:
        if self._memo is None:
            self.view.setHtml(f"<p><i>{html.escape(NO_MEMO_TEXT)}</i></p>")
        else:
            self.view.setHtml(details_html(self._memo, self._transcript, self._transcript_note))
