"""The dead-letter queue in the queue panel: jobs that failed for good, with why; requeue (fresh attempts) or purge
the selected ones or all of them (of the chosen queue). A page is one ZREVRANGE + HMGET, read off the GUI thread;
the page is read again when the snapshot's dead-letter counts change, when a job fails (it may have died for good:
same count, another dead letter), and after each action.
"""

from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.monitor import HealthSnapshot
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.dead_letters import DeadLetterPage
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.paging import (PAGE_SIZE, PageNavigatorWidget, PanelSectionWidget, action_button,
                                    submit_action)
from memo_desktop.ui.queue_models import DeadLetterTableModel
from memo_desktop.ui.row_table_view import RowTableView

ALL_QUEUES = ""


# -- background tasks: plain functions of the context, no Qt --------------------------------------------------------
def load_dead_page(ctx: AppContext, queue: str, offset: int) -> tuple[str, int, DeadLetterPage]:
    return queue, offset, dead_letters.list_page(ctx.redis, queue or None, offset, PAGE_SIZE)


def requeue_letters(ctx: AppContext, job_ids: Sequence[str]) -> int:
    return sum(ctx.jobs.requeue_dead_letter(job_id) for job_id in job_ids)


def requeue_all_letters(ctx: AppContext, queue: str) -> int:
    return ctx.jobs.requeue_dead_letters(queue or None)


def purge_letters(ctx: AppContext, job_ids: Sequence[str]) -> int:
    return dead_letters.remove(ctx.redis, job_ids)


def purge_all_letters(ctx: AppContext, queue: str) -> int:
    return dead_letters.purge(ctx.redis, queue or None)


class DeadLetterWidget(PanelSectionWidget):
    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext],
                 request_snapshot: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(runner, context, request_snapshot, parent)
        self._queue = ALL_QUEUES
        self._counts: dict[str, int] | None = None
        self._connected = False
        self.purge_box: QMessageBox | None = None  # the confirmation of "Purge all", while it is open

        self.queue_combo = QComboBox(self)
        self.queue_combo.addItem("All queues", ALL_QUEUES)
        self.queue_combo.activated.connect(self._on_queue_combo_activated)
        self.pager = PageNavigatorWidget(self, PAGE_SIZE)
        self.pager.moved.connect(self.reload_page)
        self.requeue_button = action_button(self, "retry", "Requeue",
                                            "Run the selected dead letters again (fresh attempts)",
                                            self._on_requeue_button_clicked)
        self.requeue_all_button = action_button(self, "retry", "Requeue all", "Run every dead letter shown again",
                                                self._on_requeue_all_button_clicked)
        self.purge_button = action_button(self, "delete", "Purge", "Forget the selected dead letters",
                                          self._on_purge_button_clicked)
        self.purge_all_button = action_button(self, "delete", "Purge all", "Forget every dead letter shown",
                                              self._on_purge_all_button_clicked)
        self.model = DeadLetterTableModel(self)
        self.table = RowTableView(self.model, self, stretch_column=6)
        self.table.selection_changed.connect(self._update_buttons)
        self.table.setColumnWidth(0, 220)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Queue:", self))
        filters.addWidget(self.queue_combo)
        filters.addStretch(1)
        filters.addWidget(self.pager)
        actions = QHBoxLayout()
        for button in (self.requeue_button, self.requeue_all_button, self.purge_button, self.purge_all_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    # -- what the panel feeds in -------------------------------------------------------------------------------
    def apply_snapshot(self, snapshot: HealthSnapshot) -> None:
        self._connected = snapshot.connected
        if not snapshot.connected:
            self._update_buttons()
            return
        counts = dict(snapshot.dead_letters)
        queues = sorted(q for q, n in counts.items() if n or q == self._queue)
        shown = [self.queue_combo.itemData(i) for i in range(1, self.queue_combo.count())]
        if shown != queues:
            self.queue_combo.clear()
            self.queue_combo.addItem("All queues", ALL_QUEUES)
            for queue in queues:
                self.queue_combo.addItem(queue, queue)
            self.queue_combo.setCurrentIndex(max(0, self.queue_combo.findData(self._queue)))
        if counts != self._counts:
            self._counts = counts
            self.reload_page()
        self._update_buttons()

    def apply_job_events(self, events: Sequence[JobEvent]) -> None:
        if self._connected and any(e.state == JobState.FAILED.value for e in events):
            self.reload_page()

    def reload_page(self) -> None:
        self._runner.submit(load_dead_page, self._context(), self._queue, self.pager.offset, key="dead-letter-page",
                            on_result=self._on_page_loaded,
                            on_error=lambda exc: self.error_occurred.emit(f"Dead letters: {describe_error(exc)}"))

    def show_queue(self, queue: str) -> None:
        self._queue, self.pager.offset = queue, 0
        self.queue_combo.setCurrentIndex(max(0, self.queue_combo.findData(queue)))
        self.reload_page()

    # -- slots ------------------------------------------------------------------------------------------------
    def _on_page_loaded(self, page: tuple[str, int, DeadLetterPage]) -> None:
        queue, offset, letters = page
        if (queue, offset) != (self._queue, self.pager.offset):
            return
        self.pager.set_total(letters.total)
        self.model.set_rows(letters.entries)
        self._update_buttons()

    def _on_queue_combo_activated(self, _index: int) -> None:
        self.show_queue(str(self.queue_combo.currentData() or ALL_QUEUES))

    def _on_requeue_button_clicked(self) -> None:
        ids = [str(k) for k in self.table.selected_keys()]
        self._act("Requeue", lambda n: f"Requeued {n} dead letter(s)", requeue_letters, ids)

    def _on_requeue_all_button_clicked(self) -> None:
        self._act("Requeue all", lambda n: f"Requeued {n} dead letter(s)", requeue_all_letters, self._queue)

    def _on_purge_button_clicked(self) -> None:
        ids = [str(k) for k in self.table.selected_keys()]
        self._act("Purge", lambda n: f"Purged {n} dead letter(s)", purge_letters, ids)

    def _on_purge_all_button_clicked(self) -> None:
        what = f"of {self._queue}" if self._queue else "of every queue"
        box = QMessageBox(QMessageBox.Icon.Warning, "Purge dead letters",
                          f"Forget all {self.pager.total} dead letters {what}? They cannot be requeued afterwards.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.accepted.connect(lambda: self._act("Purge all", lambda n: f"Purged {n} dead letter(s)",
                                               purge_all_letters, self._queue))
        self.purge_box = box
        box.open()

    def _act(self, action: str, done: Callable[[int], str], fn: Callable[..., int], argument: object) -> None:
        submit_action(self._runner, action, fn, (self._context(), argument), self.status_reported.emit,
                      self.error_occurred.emit, done, self._refresh_after_action)

    def _refresh_after_action(self) -> None:
        self._counts = None  # whatever the next snapshot says, read the page again with it
        self._request_snapshot()
        self.reload_page()

    def _update_buttons(self) -> None:
        selected = bool(self.table.selected_rows())
        any_shown = self._connected and self.pager.total > 0
        self.requeue_button.setEnabled(self._connected and selected)
        self.purge_button.setEnabled(self._connected and selected)
        self.requeue_all_button.setEnabled(any_shown)
        self.purge_all_button.setEnabled(any_shown)
