"""A horizontal input level meter: RMS as a bar, peak as a tick, with a short peak hold. Paint only; whoever owns
it sets the level (the recorder widget's ~30 Hz timer)."""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DBFS = -60.0
PEAK_HOLD_SECONDS = 1.0


def _fraction(dbfs: float) -> float:
    return max(0.0, min(1.0, (dbfs - FLOOR_DBFS) / -FLOOR_DBFS))


class LevelMeterWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Input level")
        self._rms = FLOOR_DBFS
        self._peak = FLOOR_DBFS
        self._held_peak = FLOOR_DBFS
        self._held_at = 0.0

    def sizeHint(self) -> QSize:
        return QSize(240, 14)

    @property
    def peak_dbfs(self) -> float:
        return self._peak

    def set_level(self, peak_dbfs: float, rms_dbfs: float) -> None:
        if peak_dbfs == self._peak and rms_dbfs == self._rms:
            return
        self._peak, self._rms = peak_dbfs, rms_dbfs
        now = time.monotonic()
        if peak_dbfs >= self._held_peak or now - self._held_at > PEAK_HOLD_SECONDS:
            self._held_peak, self._held_at = peak_dbfs, now
        self.setToolTip(f"peak {peak_dbfs:.1f} dBFS, RMS {rms_dbfs:.1f} dBFS")
        self.update()

    def clear(self) -> None:
        self.set_level(FLOOR_DBFS, FLOOR_DBFS)
        self._held_peak = FLOOR_DBFS

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(self.palette().mid().color())
        painter.setBrush(self.palette().base())
        painter.drawRoundedRect(rect, 3, 3)
        inner = rect.adjusted(2, 2, -2, -2)
        gradient = QLinearGradient(inner.topLeft(), inner.topRight())
        gradient.setColorAt(0.0, QColor("#34a853"))
        gradient.setColorAt(0.75, QColor("#34a853"))
        gradient.setColorAt(0.88, QColor("#fbbc04"))
        gradient.setColorAt(1.0, QColor("#ea4335"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(gradient)
        painter.drawRect(QRectF(inner.left(), inner.top(), inner.width() * _fraction(self._rms), inner.height()))
        x = inner.left() + inner.width() * _fraction(self._held_peak)
        if self._held_peak > FLOOR_DBFS:
            painter.setBrush(self.palette().text())
            painter.drawRect(QRectF(x - 1, inner.top(), 2, inner.height()))
        painter.end()
