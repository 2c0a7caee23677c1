"""Redis and object-store connection state as two small indicators (used in the status bar and the queue panel)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from memo_desktop.ui import icons
from memo_desktop.core.runtime import ConnectionState

SERVICE_NAMES = {"redis": "Redis", "store": "Object store"}


class _Indicator(QWidget):
    def __init__(self, service: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._icon = QLabel(self)
        self.text_label = QLabel(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self._icon)
        layout.addWidget(self.text_label)
        self.state = ConnectionState(service, None, "starting…")
        self.set_state(self.state)

    def set_state(self, state: ConnectionState) -> None:
        self.state = state
        name = SERVICE_NAMES.get(state.service, state.service)
        if state.connected is None:
            icon, word = "unknown", state.detail or "starting…"
        elif state.connected:
            icon, word = "connected", "connected"
        else:
            icon, word = "disconnected", "disconnected"
        size = self.fontMetrics().height() - 2
        self._icon.setPixmap(icons.icon(icon).pixmap(size, size))
        self.text_label.setText(f"{name}: {word}")
        self.setToolTip(f"{name}: {state.detail}")


class ConnectionStatusWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indicators = {service: _Indicator(service, self) for service in SERVICE_NAMES}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(14)
        for indicator in self.indicators.values():
            layout.addWidget(indicator)
        layout.addStretch(1)

    def set_state(self, state: ConnectionState) -> None:
        indicator = self.indicators.get(state.service)
        if indicator is not None:
            indicator.set_state(state)

    def state(self, service: str) -> ConnectionState:
        return self.indicators[service].state
