"""Parts shared by the panel's paged lists (jobs, dead letters): their base widget, the "1–50 of N ‹ Newer  Older ›"
navigator, action buttons, and running an action off the GUI thread with one message for success and one for
failure."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from memo_desktop.core.context import AppContext
from memo_desktop.ui import icons
from memo_desktop.ui.background import BackgroundRunner, describe_error

PAGE_SIZE = 50


class PanelSectionWidget(QWidget):
    """A part of the queue panel: it reads and acts through the runner on the current context, says what happened,
    and asks for fresh counts after an action."""

    status_reported = Signal(str)
    error_occurred = Signal(str)

    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext],
                 request_snapshot: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._context = context
        self._request_snapshot = request_snapshot


class PageNavigatorWidget(QWidget):
    """Where a list is: its offset into `total` rows, a page at a time. Emits `moved` when the user pages."""

    moved = Signal()

    def __init__(self, parent: QWidget | None = None, page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self.page_size = page_size
        self.offset = 0
        self.total = 0
        self.label = QLabel(self)
        self.prev_button = QPushButton("‹ Newer", self)
        self.prev_button.clicked.connect(self._on_prev_button_clicked)
        self.next_button = QPushButton("Older ›", self)
        self.next_button.clicked.connect(self._on_next_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.prev_button)
        layout.addWidget(self.next_button)
        self.set_total(0)

    def set_total(self, total: int) -> None:
        self.total = total
        first = self.offset + 1 if total else 0
        self.label.setText(f"{first}–{min(self.offset + self.page_size, total)} of {total}")
        self.prev_button.setEnabled(self.offset > 0)
        self.next_button.setEnabled(self.offset + self.page_size < total)

    def _on_prev_button_clicked(self) -> None:
        self.offset = max(0, self.offset - self.page_size)
        self.moved.emit()

    def _on_next_button_clicked(self) -> None:
        self.offset += self.page_size
        self.moved.emit()


def action_button(parent: QWidget, icon: str, text: str, tip: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(icons.icon(icon), text, parent)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def submit_action(runner: BackgroundRunner, action: str, fn: Callable[..., Any], args: tuple,
                  report: Callable[[str], None], report_error: Callable[[str], None],
                  done: Callable[[Any], str], after: Callable[[], None]) -> None:
    """Run `fn(*args)` off the GUI thread; then `report(done(result))` or `report_error("<action> failed: why")`,
    and `after()` either way (fresh counts, a fresh page: events may lag a little)."""

    def on_result(value: Any) -> None:
        report(done(value))
        after()

    def on_error(exc: BaseException) -> None:
        report_error(f"{action} failed: {describe_error(exc)}")
        after()

    runner.submit(fn, *args, on_result=on_result, on_error=on_error)
