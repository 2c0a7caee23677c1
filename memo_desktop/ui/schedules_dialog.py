"""The schedules dialog: this device's schedules with their next run (local time) and last run; add one (name, cron
expression, action), remove one, run one now. Every Redis read and write, and running an action, happens on the
background runner; the list is read again after each change and every 30 s while the dialog is open.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from memo_desktop.core.context import AppContext
from memo_desktop.core.pipeline.scheduled_actions import device_schedules, run_now
from memo_desktop.core.queueing.schedules import ACTION_KINDS, ScheduleRun, ScheduleStatus
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.row_table_model import Column, RowTableModel
from memo_desktop.ui.row_table_view import RowTableView

RELOAD_MS = 30_000


def _local(moment: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment)) if moment is not None else ""


def describe_run(run: ScheduleRun | None) -> str:
    if run is None:
        return "never"
    return f"{_local(run.started_at)} ({run.trigger}): {run.summary()}"


class ScheduleTableModel(RowTableModel[ScheduleStatus]):
    columns = (
        Column("Name", lambda s: s.schedule.name),
        Column("When", lambda s: s.schedule.cron.expression),
        Column("Action", lambda s: str(s.schedule.action)),
        Column("Next run", lambda s: _local(s.next_run)),
        Column("Last run", lambda s: describe_run(s.last_run),
               tooltip=lambda s: "\n".join(s.last_run.errors) if s.last_run else ""),
    )

    def key(self, row: ScheduleStatus) -> str:
        return row.schedule.name


# -- background tasks -----------------------------------------------------------------------------------------------
def list_schedules(ctx: AppContext) -> tuple[ScheduleStatus, ...]:
    return tuple(device_schedules(ctx).statuses())


def add_schedule(ctx: AppContext, name: str, cron: str, action: str) -> str:
    device_schedules(ctx).add(name, cron, action)
    return name


def remove_schedule(ctx: AppContext, name: str) -> str:
    device_schedules(ctx).remove(name)
    return name


class SchedulesDialog(QDialog):
    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext], parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Schedules of {context().settings.device}")
        self.resize(900, 420)
        self._runner = runner
        self._context = context

        self.model = ScheduleTableModel(self)
        self.table = RowTableView(self.model, self, stretch_column=4, multi_select=False)
        self.table.selection_changed.connect(self._update_buttons)
        for column, width in enumerate((140, 120, 220, 150)):
            self.table.setColumnWidth(column, width)
        self.note = QLabel("Times are this computer's local time. Schedules run here, on the machine whose library "
                           "they act on, in whichever of its processes (this app, a headless worker) claims each "
                           "tick.", self)
        self.note.setWordWrap(True)

        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("nightly-analysis")
        self.cron_edit = QLineEdit(self)
        self.cron_edit.setPlaceholderText("m h dom mon dow, e.g. 0 3 * * *")
        self.action_combo = QComboBox(self)
        for kind in ACTION_KINDS:
            self.action_combo.addItem(kind.name, kind)
            self.action_combo.setItemData(self.action_combo.count() - 1, kind.description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.action_combo.currentIndexChanged.connect(self._on_action_combo_changed)
        self.days_spin = QDoubleSpinBox(self)
        self.days_spin.setRange(0, 36500)
        self.days_spin.setDecimals(1)
        self.days_spin.setValue(30)
        self.days_spin.setSuffix(" days")
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)  # it repeats what was typed: never markup
        add_box = QGroupBox("New schedule", self)
        form = QFormLayout(add_box)
        form.addRow("Name:", self.name_edit)
        form.addRow("When (cron):", self.cron_edit)
        action_row = QHBoxLayout()
        action_row.addWidget(self.action_combo, 1)
        action_row.addWidget(self.days_spin)
        form.addRow("Action:", action_row)
        form.addRow(self.add_button)
        form.addRow(self.error_label)

        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.run_button = QPushButton("Run now", self)
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.remove_button)
        row.addWidget(self.run_button)
        row.addWidget(self.status_label, 1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(add_box)
        layout.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setInterval(RELOAD_MS)
        self._timer.timeout.connect(self.reload)
        self._timer.start()
        self._on_action_combo_changed()
        self._update_buttons()
        self.reload()

    def action_text(self) -> str:
        kind = self.action_combo.currentData()
        if not kind.takes_days:
            return kind.name
        days = self.days_spin.value()
        return f"{kind.name}:{int(days) if days == int(days) else days}"

    def reload(self) -> None:
        self._runner.submit(list_schedules, self._context(), key="schedules", owner=self,
                            on_result=self._on_listed, on_error=self._show_error)

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_listed(self, statuses: tuple[ScheduleStatus, ...]) -> None:
        self.model.set_rows(statuses)
        self._update_buttons()

    def _on_action_combo_changed(self, _index: int = 0) -> None:
        self.days_spin.setEnabled(self.action_combo.currentData().takes_days)

    def _on_add_button_clicked(self) -> None:
        self.error_label.clear()
        self._runner.submit(add_schedule, self._context(), self.name_edit.text().strip(), self.cron_edit.text(),
                            self.action_text(), owner=self, on_result=self._on_added, on_error=self._show_error)

    def _on_added(self, name: str) -> None:
        self.status_label.setText(f"Added {name}")
        self.name_edit.clear()
        self.reload()

    def _on_remove_button_clicked(self) -> None:
        for row in self.table.selected_rows():
            self._runner.submit(remove_schedule, self._context(), row.schedule.name, owner=self,
                                on_result=lambda name: (self.status_label.setText(f"Removed {name}"), self.reload()),
                                on_error=self._show_error)

    def _on_run_button_clicked(self) -> None:
        for row in self.table.selected_rows():
            self.status_label.setText(f"Running {row.schedule.name}…")
            self._runner.submit(run_now, self._context(), row.schedule.name, owner=self,
                                on_result=self._on_ran, on_error=self._show_error)

    def _on_ran(self, run: ScheduleRun) -> None:
        self.status_label.setText(f"{run.schedule}: {describe_run(run)}")
        self.reload()

    def _show_error(self, exc: BaseException) -> None:
        self.error_label.setText(describe_error(exc))

    def _update_buttons(self) -> None:
        selected = bool(self.table.selected_rows())
        self.remove_button.setEnabled(selected)
        self.run_button.setEnabled(selected)

    def done(self, result: int) -> None:
        self._timer.stop()
        super().done(result)
