"""The live queue panel: connection state, per-queue and per-user counts, one page of jobs (with their priority and
user), actions on jobs and queues (retry, remove, change a waiting job's priority, pause, clear), the dead-letter
queue, and the workers on this Redis.

Freshness comes from the QueueWatcher (job events as they happen, counts after each burst), not from polling: an
event updates a shown job in place at once, and a job entering or leaving the shown page reloads that one page
(debounced, off-thread). Counts are LLEN/ZCARD and pages are ranges, so 100,000 jobs cost what 100 do.
"""

from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.client import JobQueue
from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.monitor import HealthSnapshot, JobRow, list_jobs
from memo_desktop.core.queueing.priorities import PRIORITIES, Priority
from memo_desktop.ui import icons
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.connection_status_widget import ConnectionStatusWidget
from memo_desktop.ui.dead_letter_widget import DeadLetterWidget
from memo_desktop.ui.paging import (PAGE_SIZE, PageNavigatorWidget, PanelSectionWidget, action_button,
                                    submit_action)
from memo_desktop.ui.queue_models import (LISTABLE_STATES, JobTableModel, QueueCountsModel, UserCountsModel,
                                          WorkerTableModel)
from memo_desktop.ui.row_table_view import RowTableView
from memo_desktop.core.runtime import ConnectionState

PAGE_RELOAD_DEBOUNCE_MS = 30  # merges a burst of events into one page read, well inside the 250 ms budget


def load_page(ctx: AppContext, queue: str, state: JobState, offset: int) -> tuple[str, JobState, int,
                                                                                 tuple[JobRow, ...]]:
    """A page of jobs, each named by its memo's title (this library's, else the one stored with the job)."""
    return queue, state, offset, tuple(list_jobs(ctx.jobs, queue, state, offset, PAGE_SIZE, ctx.library.titles))


def remove_jobs(jobs: JobQueue, job_ids: Sequence[str]) -> int:
    for job_id in job_ids:
        jobs.remove(job_id)
    return len(job_ids)


def retry_jobs(jobs: JobQueue, job_ids: Sequence[str]) -> int:
    for job_id in job_ids:
        jobs.retry(job_id)
    return len(job_ids)


def set_priorities(jobs: JobQueue, job_ids: Sequence[str], priority: Priority) -> int:
    for job_id in job_ids:
        jobs.set_priority(job_id, priority)
    return len(job_ids)


class QueuePanelWidget(PanelSectionWidget):
    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext],
                 request_snapshot: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(runner, context, request_snapshot, parent)
        self._snapshot: HealthSnapshot | None = None
        # what the job list shows; the combos mirror it (the queue may be chosen before the first snapshot lists it)
        self._queue = ""
        self._state = JobState.ACTIVE

        self.connection = ConnectionStatusWidget(self)

        self.counts_model = QueueCountsModel(self)
        self.counts_table = RowTableView(self.counts_model, self, stretch_column=0, multi_select=False)
        self.counts_table.setSelectionBehavior(RowTableView.SelectionBehavior.SelectItems)
        self.counts_table.clicked.connect(self._on_counts_table_clicked)
        self.counts_table.setToolTip("Click a count to list those jobs")
        self.counts_table.setMaximumHeight(self.counts_table.verticalHeader().defaultSectionSize() * 4 + 8)
        for column in range(1, self.counts_model.columnCount()):
            self.counts_table.setColumnWidth(column, 80)

        self.queue_combo = QComboBox(self)
        self.queue_combo.setMinimumContentsLength(16)
        self.queue_combo.activated.connect(self._on_filter_combo_activated)
        self.state_combo = QComboBox(self)
        for state in LISTABLE_STATES:
            self.state_combo.addItem(state.value.capitalize(), state)
        self.state_combo.setCurrentIndex(LISTABLE_STATES.index(JobState.ACTIVE))
        self.state_combo.activated.connect(self._on_filter_combo_activated)
        self.pager = PageNavigatorWidget(self, PAGE_SIZE)
        self.pager.moved.connect(self.reload_page)
        self.page_label = self.pager.label

        self.retry_button = action_button(self, "retry", "Retry", "Run the selected failed jobs again",
                                          self._on_retry_button_clicked)
        self.retry_all_button = action_button(self, "retry", "Retry all failed",
                                              "Run every failed job of this queue again",
                                              self._on_retry_all_button_clicked)
        self.remove_button = action_button(self, "delete", "Remove", "Remove the selected jobs (not running ones)",
                                           self._on_remove_button_clicked)
        self.pause_button = action_button(self, "pause", "Pause queue",
                                          "Stop workers from taking jobs of this queue", self._on_pause_button_clicked)
        self.clear_button = action_button(self, "delete", "Clear completed", "Remove this queue's completed jobs",
                                          self._on_clear_button_clicked)
        self.priority_button = QPushButton("Priority", self)
        self.priority_button.setToolTip("Move the selected waiting jobs to another priority")
        self.priority_menu = QMenu(self.priority_button)
        self.priority_actions: dict[Priority, QAction] = {}
        for priority in PRIORITIES:
            action = self.priority_menu.addAction(priority.value.capitalize())
            action.triggered.connect(lambda _checked=False, p=priority: self._on_priority_action_triggered(p))
            self.priority_actions[priority] = action
        self.priority_button.setMenu(self.priority_menu)

        self.users_model = UserCountsModel(self)
        self.users_table = RowTableView(self.users_model, self, stretch_column=0, multi_select=False)
        self.users_table.setToolTip("Jobs of each user (workers take turns between users)")
        self.users_table.setMaximumHeight(self.users_table.verticalHeader().defaultSectionSize() * 4 + 8)
        for column in range(1, self.users_model.columnCount()):
            self.users_table.setColumnWidth(column, 80)

        self.jobs_model = JobTableModel(self)
        self.jobs_table = RowTableView(self.jobs_model, self, stretch_column=0)
        self.jobs_table.selection_changed.connect(self._on_jobs_table_selection_changed)
        self.jobs_table.setMinimumHeight(48)  # the window stays usable on small screens; it grows with the panel
        for column, width in enumerate((220, 70, 64, 130, 60, 70, 120, 80)):  # progress: '42% · 0:36 left'
            self.jobs_table.setColumnWidth(column, width)

        self.workers_model = WorkerTableModel(self)
        self.workers_table = RowTableView(self.workers_model, self, stretch_column=3)
        self.workers_table.setColumnWidth(0, 260)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Queue:", self))
        filters.addWidget(self.queue_combo)
        filters.addWidget(QLabel("State:", self))
        filters.addWidget(self.state_combo)
        filters.addStretch(1)
        filters.addWidget(self.pager)
        actions = QHBoxLayout()  # on the selected jobs
        actions.addWidget(QLabel("Selected:", self))
        for button in (self.retry_button, self.remove_button, self.priority_button):
            actions.addWidget(button)
        actions.addStretch(1)
        queue_actions = QHBoxLayout()  # on the whole queue
        queue_actions.addWidget(QLabel("Queue:", self))
        for button in (self.retry_all_button, self.pause_button, self.clear_button):
            queue_actions.addWidget(button)
        queue_actions.addStretch(1)
        self.dead_letters = DeadLetterWidget(runner, context, request_snapshot, self)
        self.dead_letters.status_reported.connect(self.status_reported)
        self.dead_letters.error_occurred.connect(self.error_occurred)

        jobs_box = QWidget(self)
        jobs_layout = QVBoxLayout(jobs_box)
        jobs_layout.setContentsMargins(0, 0, 0, 0)
        jobs_layout.addLayout(filters)
        jobs_layout.addLayout(actions)
        jobs_layout.addLayout(queue_actions)
        jobs_layout.addWidget(self.jobs_table, 1)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(jobs_box, "Jobs")
        self.tabs.addTab(self.dead_letters, "Dead letters")
        self.tabs.addTab(self.users_table, "Users")
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.counts_table)
        top_layout.addWidget(self.tabs, 1)
        workers_box = QGroupBox("Workers on this Redis", self)
        workers_layout = QVBoxLayout(workers_box)
        workers_layout.setContentsMargins(4, 4, 4, 4)
        workers_layout.addWidget(self.workers_table)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(workers_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.connection)
        layout.addWidget(splitter, 1)

        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(PAGE_RELOAD_DEBOUNCE_MS)
        self._reload_timer.timeout.connect(self._on_reload_timer_timeout)
        self._update_buttons()

    # -- what the service host feeds in -----------------------------------------------------------------------------
    def apply_snapshot(self, snapshot: HealthSnapshot) -> None:
        previous = self._snapshot
        self._snapshot = snapshot
        self.counts_model.set_snapshot(snapshot)
        self.users_model.set_snapshot(snapshot)
        self.workers_model.set_snapshot(snapshot)
        self.dead_letters.apply_snapshot(snapshot)
        dead = sum(snapshot.dead_letters.values()) if snapshot.connected else 0
        title = f"Dead letters ({dead})" if dead else "Dead letters"
        if self.tabs.tabText(1) != title:  # a new title lays the tab bar out again: only when it changes
            self.tabs.setTabText(1, title)
        if not snapshot.connected:
            return
        names = list(snapshot.by_base)
        if [self.queue_combo.itemText(i) for i in range(self.queue_combo.count())] != names:
            self.queue_combo.clear()
            self.queue_combo.addItems(names)
            if self._queue not in names:
                self._queue = next((n for n in names if n.startswith("file-upload")), names[0] if names else "")
            self.queue_combo.setCurrentText(self._queue)
            self.reload_page()
        elif previous is None or self._shown_count(previous) != self._shown_count(snapshot):
            self.reload_page()  # jobs entered or left the shown state without an event we saw (retention, ...)
        self._update_buttons()

    def apply_job_events(self, events: Sequence[JobEvent]) -> None:
        if self.jobs_model.apply_job_events(events):
            self.reload_page()
        self.dead_letters.apply_job_events(events)

    def set_connection_state(self, state: ConnectionState) -> None:
        self.connection.set_state(state)

    # -- the job page -------------------------------------------------------------------------------------------------
    @property
    def queue(self) -> str:
        return self._queue

    @property
    def state(self) -> JobState:
        return self._state

    def show_jobs(self, queue: str, state: JobState) -> None:
        self._queue, self._state, self.pager.offset = queue, state, 0
        self.tabs.setCurrentIndex(0)
        self.queue_combo.setCurrentText(queue)
        self.state_combo.setCurrentIndex(LISTABLE_STATES.index(state))
        self.reload_page()
        self._update_buttons()

    def reload_page(self) -> None:
        self._reload_timer.start()

    def _on_reload_timer_timeout(self) -> None:
        if not self.queue:
            return
        self._runner.submit(load_page, self._context(), self.queue, self.state, self.pager.offset, key="job-page",
                            on_result=self._on_page_loaded,
                            on_error=lambda exc: self.error_occurred.emit(f"Job list: {describe_error(exc)}"))

    def _on_page_loaded(self, page: tuple[str, JobState, int, tuple[JobRow, ...]]) -> None:
        queue, state, offset, rows = page
        if (queue, state, offset) != (self.queue, self.state, self.pager.offset):
            return  # the user moved on while it loaded; the newer request paints
        self.jobs_model.set_page(queue, state, rows)
        self._update_buttons()

    def _shown_count(self, snapshot: HealthSnapshot) -> int:
        counts = snapshot.by_base.get(self.queue)
        return getattr(counts, self.state.value, 0) if counts is not None else 0

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_counts_table_clicked(self, index: QModelIndex) -> None:
        row = self.counts_model.row_at(index)
        state = QueueCountsModel.STATE_OF_COLUMN.get(index.column(), self.state)
        if row is not None:
            self.show_jobs(row.name, state)

    def _on_filter_combo_activated(self, _index: int) -> None:
        # Qt hands the str-enum back as a plain str
        self.show_jobs(self.queue_combo.currentText(), JobState(self.state_combo.currentData()))

    def _on_retry_button_clicked(self) -> None:
        ids = [str(k) for k in self.jobs_table.selected_keys()]
        self._act("Retry", f"Retried {len(ids)} job(s)", retry_jobs, ids)

    def _on_retry_all_button_clicked(self) -> None:
        self._act("Retry all", "Retried every failed job of " + self.queue,
                  lambda jobs, q: jobs.retry_all_failed(q), self.queue)

    def _on_remove_button_clicked(self) -> None:
        ids = [str(k) for k in self.jobs_table.selected_keys()]
        self._act("Remove", f"Removed {len(ids)} job(s)", remove_jobs, ids)

    def _on_pause_button_clicked(self) -> None:
        counts = self.counts_model.counts(self.queue)
        if counts is not None and counts.paused:
            self._act("Resume", f"Resumed {self.queue}", lambda jobs, q: jobs.resume(q), self.queue)
        else:
            self._act("Pause", f"Paused {self.queue}", lambda jobs, q: jobs.pause(q), self.queue)

    def _on_priority_action_triggered(self, priority: Priority) -> None:
        ids = [str(r.job_id) for r in self.jobs_table.selected_rows() if r.state is JobState.WAITING]
        self._act("Priority", f"Moved {len(ids)} job(s) to {priority.value} priority",
                  lambda jobs, job_ids: set_priorities(jobs, job_ids, priority), ids)

    def _on_clear_button_clicked(self) -> None:
        self._act("Clear completed", "Cleared the completed jobs of " + self.queue,
                  lambda jobs, q: jobs.clear_completed(q), self.queue)

    def _act(self, action: str, done: str, fn: Callable[..., object], argument: object) -> None:
        """Run one queue action off-thread; then fresh counts and a fresh page (the events may lag a little)."""
        submit_action(self._runner, action, fn, (self._context().jobs, argument), self.status_reported.emit,
                      self.error_occurred.emit, lambda _value: done, self._refresh_after_action)

    def _refresh_after_action(self) -> None:
        self._request_snapshot()
        self.reload_page()

    def _on_jobs_table_selection_changed(self) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        connected = self._snapshot is not None and self._snapshot.connected
        rows = self.jobs_table.selected_rows()
        self.retry_button.setEnabled(connected and any(r.state is JobState.FAILED for r in rows))
        self.remove_button.setEnabled(connected and bool(rows) and all(r.state is not JobState.ACTIVE for r in rows))
        self.priority_button.setEnabled(connected and bool(rows) and all(r.state is JobState.WAITING for r in rows))
        counts = self.counts_model.counts(self.queue)
        self.retry_all_button.setEnabled(connected and counts is not None and counts.failed > 0)
        self.clear_button.setEnabled(connected and counts is not None and counts.completed > 0)
        paused = counts is not None and counts.paused
        self.pause_button.setEnabled(connected and bool(self.queue))
        self.pause_button.setText("Resume queue" if paused else "Pause queue")
        self.pause_button.setIcon(icons.icon("play" if paused else "pause"))
        self.pager.set_total(getattr(counts, self.state.value, 0) if counts is not None else 0)
