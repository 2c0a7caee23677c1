"""Draws a progress bar in any table cell whose model answers PROGRESS_ROLE with a number (shared by every table)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar, \
    QStyleOptionViewItem

from memo_desktop.ui.row_table_model import PROGRESS_ROLE


class ProgressBarDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        # the model's own (Python) data(), not index.data(): no QVariant round trip
        model = index.model()
        progress = model.data(index, PROGRESS_ROLE)
        if progress is None:
            super().paint(painter, option, index)
            return
        # the selection background first, so a selected row still looks selected behind the bar
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(3, 3, -3, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int(progress)
        bar.text = str(model.data(index, Qt.ItemDataRole.DisplayRole) or f"{int(progress)}%")
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
