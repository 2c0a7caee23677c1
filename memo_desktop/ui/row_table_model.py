"""The base of every table model in the app: a QAbstractTableModel over a tuple of immutable rows.

Subclasses declare their columns and the key of a row; they never touch Qt's model plumbing. Rows are frozen
dataclasses (handed over from background threads as they are), so the model can compare old and new rows and
repaint only what changed: a refresh that changes nothing costs no repaint and keeps the selection.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Generic, Hashable, Sequence, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Row = TypeVar("Row")
AnyIndex = QModelIndex | QPersistentModelIndex

# Custom roles, shared by every model and the delegates that read them.
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # int 0-100 to draw as a bar, or None
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the row object itself
KEY_ROLE = Qt.ItemDataRole.UserRole + 3  # the row's key

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


@dataclass(frozen=True)
class Column(Generic[Row]):
    title: str
    text: Callable[[Row], str]
    align: Qt.AlignmentFlag = _LEFT
    progress: Callable[[Row], int | None] | None = None
    tooltip: Callable[[Row], str] | None = None
    decoration: Callable[[Row], Any] | None = None  # a QIcon (or None)
    foreground: Callable[[Row], Any] | None = None  # a QColor (or None for the palette's text colour)


class RowTableModel(QAbstractTableModel, Generic[Row]):
    columns: tuple[Column[Row], ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: tuple[Row, ...] = ()
        self._index: dict[Hashable, int] = {}

    # -- what a subclass provides ----------------------------------------------------------------------------------
    def key(self, row: Row) -> Hashable:
        raise NotImplementedError

    # -- data in ---------------------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show `rows`; with the same keys as before (in order), only the changed rows are repainted."""
        rows = tuple(rows)
        keys = [self.key(r) for r in rows]
        if len(rows) == len(self._rows) and all(self.key(old) == k for old, k in zip(self._rows, keys)):
            old_rows, self._rows = self._rows, rows
            for i, (old, new) in enumerate(zip(old_rows, rows)):
                if old != new:
                    self._row_changed(i)
            return
        self.beginResetModel()
        self._rows = rows
        self._index = {k: i for i, k in enumerate(keys)}
        self.endResetModel()

    def replace_row(self, row: Row) -> bool:
        """Replace the row with the same key (False if it is not shown)."""
        i = self._index.get(self.key(row))
        if i is None:
            return False
        if self._rows[i] != row:
            self._rows = self._rows[:i] + (row,) + self._rows[i + 1:]
            self._row_changed(i)
        return True

    def _row_changed(self, i: int) -> None:
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))

    # -- data out --------------------------------------------------------------------------------------------------
    @property
    def rows(self) -> tuple[Row, ...]:
        return self._rows

    def row_for(self, key: Hashable) -> Row | None:
        i = self._index.get(key)
        return None if i is None else self._rows[i]

    def row_of(self, key: Hashable) -> int | None:
        return self._index.get(key)

    def row_at(self, index: AnyIndex) -> Row | None:
        return self._rows[index.row()] if index.isValid() and index.row() < len(self._rows) else None

    # -- Qt's model interface --------------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return self.columns[section].align
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and every role on each repaint: roles are plain ints looked up in a dict
        # (comparing against Qt enum members costs an attribute lookup and an enum comparison each time).
        answer = _ROLE_ANSWERS.get(int(role))
        if answer is None or not index.isValid() or index.row() >= len(self._rows):
            return None
        return answer(self, self._rows[index.row()], self.columns[index.column()])


def plain_tooltip(text: str | None) -> str | None:
    """A tooltip that shows `text` as it is: Qt renders a tooltip that looks like HTML as HTML, and job errors,
    titles and dead-letter reasons are user (or job) supplied. Escaped inside <qt>, it can only be text."""
    if not text:
        return None
    return "<qt><p style='white-space:pre-wrap'>" + html.escape(text) + "</p></qt>"


def _tooltip(_model: RowTableModel[Any], row: Any, column: Column[Any]) -> str | None:
    return plain_tooltip(column.tooltip(row)) if column.tooltip is not None else None


def _optional(getter: Callable[[Column[Any]], Callable[[Any], Any] | None]) -> Callable[..., Any]:
    def answer(_model: RowTableModel[Any], row: Any, column: Column[Any]) -> Any:
        fn = getter(column)
        return fn(row) if fn is not None else None

    return answer


_ROLE_ANSWERS: dict[int, Callable[[RowTableModel[Any], Any, Column[Any]], Any]] = {
    int(Qt.ItemDataRole.DisplayRole): lambda _m, row, column: column.text(row),
    int(Qt.ItemDataRole.TextAlignmentRole): lambda _m, _row, column: column.align,
    int(PROGRESS_ROLE): _optional(lambda column: column.progress),
    int(Qt.ItemDataRole.ToolTipRole): _tooltip,
    int(Qt.ItemDataRole.DecorationRole): _optional(lambda column: column.decoration),
    int(Qt.ItemDataRole.ForegroundRole): _optional(lambda column: column.foreground),
    int(ROW_ROLE): lambda _m, row, _column: row,
    int(KEY_ROLE): lambda model, row, _column: model.key(row),
}
