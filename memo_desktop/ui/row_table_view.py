"""The table view every list in the app uses: whole-row selection, a shared progress-bar delegate, and a selection
that survives model resets (rows are matched by key, so a refresh never loses what the user selected)."""

from __future__ import annotations

from typing import Any, Hashable

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from memo_desktop.ui.progress_delegate import ProgressBarDelegate
from memo_desktop.ui.row_table_model import RowTableModel


class RowTableView(QTableView):
    selection_changed = Signal()  # the selected rows changed (by the user or by a refresh)

    def __init__(self, model: RowTableModel[Any], parent: QWidget | None = None, *,
                 stretch_column: int | None = None, multi_select: bool = True) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._row_model = model
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi_select
                              else QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        if stretch_column is not None:
            header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        else:
            header.setStretchLastSection(True)
        # only the columns that can show a bar get the (Python) delegate; every other cell paints in C++ alone
        self._progress_delegate = ProgressBarDelegate(self)
        for column, spec in enumerate(model.columns):
            if spec.progress is not None:
                self.setItemDelegateForColumn(column, self._progress_delegate)
        self._kept: list[Hashable] = []
        model.modelAboutToBeReset.connect(self._on_model_about_to_be_reset)
        model.modelReset.connect(self._on_model_reset)
        self.selectionModel().selectionChanged.connect(self._on_selection_model_selection_changed)

    def selected_keys(self) -> list[Hashable]:
        rows = sorted(index.row() for index in self.selectionModel().selectedRows())
        return [self._row_model.key(self._row_model.rows[r]) for r in rows if r < len(self._row_model.rows)]

    def selected_rows(self) -> list[Any]:
        rows = sorted(index.row() for index in self.selectionModel().selectedRows())
        return [self._row_model.rows[r] for r in rows if r < len(self._row_model.rows)]

    def select_keys(self, keys: list[Hashable]) -> None:
        selection = QItemSelection()
        last = self._row_model.columnCount() - 1
        for key in keys:
            row = self._row_model.row_of(key)
            if row is not None:
                selection.select(self._row_model.index(row, 0), self._row_model.index(row, last))
        self.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if keys and (row := self._row_model.row_of(keys[0])) is not None:
            self.selectionModel().setCurrentIndex(self._row_model.index(row, 0),
                                                  QItemSelectionModel.SelectionFlag.NoUpdate)

    def _on_model_about_to_be_reset(self) -> None:
        self._kept = self.selected_keys()

    def _on_model_reset(self) -> None:
        if self._kept:
            self.select_keys(self._kept)
        self.selection_changed.emit()

    def _on_selection_model_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.selection_changed.emit()
