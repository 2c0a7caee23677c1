"""A slim message bar (info or error), optionally with one action button ("Undo") and a timeout.

Used for background errors (never swallowed: they stay until dismissed) and for the undo window of deletions.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

_STYLES = {
    "info": "NotificationBarWidget { background: #e8f0fe; border: 1px solid #aecbfa; border-radius: 4px; }",
    "error": "NotificationBarWidget { background: #fce8e6; border: 1px solid #f6aea9; border-radius: 4px; }",
}
MAX_LINES = 4


class NotificationBarWidget(QFrame):
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._action_button = QPushButton(self)
        self._action_button.hide()
        self._action_button.clicked.connect(self._on_action_button_clicked)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self._on_close_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._action_button)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._action: Callable[[], None] | None = None
        self._on_timeout: Callable[[], None] | None = None
        self._lines: list[str] = []
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text()

    def show_message(self, text: str, kind: str = "info", *, action_text: str = "",
                     action: Callable[[], None] | None = None, timeout_ms: int = 0,
                     on_timeout: Callable[[], None] | None = None) -> None:
        """Show `text`. Errors accumulate (the last few are kept) until dismissed; a new info replaces the bar."""
        if kind == "error" and self.isVisible() and self._action is None:
            self._lines = (self._lines + [text])[-MAX_LINES:]
        else:
            self._lines = [text]
        self._label.setText("\n".join(self._lines))
        self.setStyleSheet(_STYLES[kind])
        self._action, self._on_timeout = action, on_timeout
        self._action_button.setText(action_text)
        self._action_button.setVisible(action is not None)
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()
        self.show()

    def clear(self) -> None:
        self._timer.stop()
        self._action = self._on_timeout = None
        self._lines = []
        self.hide()

    def _on_action_button_clicked(self) -> None:
        action = self._action
        self.clear()
        if action is not None:
            action()

    def _on_close_button_clicked(self) -> None:
        self._finish()
        self.dismissed.emit()

    def _on_timer_timeout(self) -> None:
        self._finish()

    def _finish(self) -> None:
        on_timeout = self._on_timeout
        self.clear()
        if on_timeout is not None:
            on_timeout()
