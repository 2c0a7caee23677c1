"""Qt models of the live queue panel: per-queue and per-user counts, one page of jobs, one page of dead letters, and
the workers on this Redis.

All are fed immutable values (HealthSnapshot, JobRow pages, JobEvent batches, DeadLetter pages) that the background
threads produce; nothing here talks to Redis. A queue here is what the user knows (`file-process`): the counts of
its lanes (one RQ queue per priority and user) are summed.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Iterable

from PySide6.QtGui import QColor

from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.monitor import HealthSnapshot, JobRow, QueueCounts, WorkerRow
from memo_desktop.core.monitor.eta import ProgressEta
from memo_desktop.core.queueing.dead_letters import DeadLetter
from memo_desktop.core.queueing.priorities import Priority
from memo_desktop.ui.formatting import format_progress, format_recent
from memo_desktop.ui.row_table_model import CENTER, RIGHT, Column, RowTableModel

# The job states a user can list (each one is a Redis list or sorted set, so a page costs the same at any size).
LISTABLE_STATES = (JobState.WAITING, JobState.ACTIVE, JobState.SCHEDULED, JobState.COMPLETED, JobState.FAILED)


@dataclass(frozen=True)
class QueueRow:
    name: str
    counts: QueueCounts


def _count(state: JobState):
    return lambda row: str(getattr(row.counts, state.value))


class QueueCountsModel(RowTableModel[QueueRow]):
    columns = (
        Column("Queue", lambda r: r.name + ("  (paused)" if r.counts.paused else "")),
        *(Column(state.value.capitalize(), _count(state), align=RIGHT) for state in LISTABLE_STATES),
    )
    STATE_OF_COLUMN = {i + 1: state for i, state in enumerate(LISTABLE_STATES)}

    def key(self, row: QueueRow) -> str:
        return row.name

    def set_snapshot(self, snapshot: HealthSnapshot) -> None:
        if snapshot.connected:  # a disconnected snapshot has no counts: keep the last known ones on screen
            self.set_rows([QueueRow(name, counts) for name, counts in snapshot.by_base.items()])

    def counts(self, queue: str) -> QueueCounts | None:
        row = self.row_for(queue)
        return row.counts if row is not None else None


class UserCountsModel(RowTableModel[QueueRow]):
    """Counts per user over every queue (the jobs each user has waiting, running, done and failed)."""

    columns = (
        Column("User", lambda r: r.name),
        *(Column(state.value.capitalize(), _count(state), align=RIGHT) for state in LISTABLE_STATES),
    )

    def key(self, row: QueueRow) -> str:
        return row.name

    def set_snapshot(self, snapshot: HealthSnapshot) -> None:
        if snapshot.connected:
            self.set_rows([QueueRow(user, counts) for user, counts in snapshot.by_user.items()])


def _attempts(row: JobRow) -> str:
    return f"{row.attempts_made}/{row.attempts}" if row.attempts else str(row.attempts_made)


def _progress(row: JobRow) -> int | None:
    return row.progress if row.state is JobState.ACTIVE else None


@dataclass(frozen=True)
class TimedJobRow(JobRow):
    """A job row with the estimated time left of a running job (None: not running, or nothing to go on yet)."""

    seconds_left: float | None = None


def _progress_text(row: JobRow) -> str:
    seconds_left = row.seconds_left if isinstance(row, TimedJobRow) and row.state is JobState.ACTIVE else None
    return format_progress(row.progress, seconds_left)


_STATE_COLOURS = {JobState.COMPLETED: QColor("#188038"), JobState.FAILED: QColor("#b3261e"),
                  JobState.ACTIVE: QColor("#1a73e8")}
_PRIORITY_COLOURS = {Priority.HIGH: QColor("#b06000"), Priority.LOW: QColor("#5f6368")}


class JobTableModel(RowTableModel[JobRow]):
    columns = (
        Column("Job", lambda r: r.title or r.job_id, tooltip=lambda r: r.job_id),
        Column("State", lambda r: r.state.value, align=CENTER, foreground=lambda r: _STATE_COLOURS.get(r.state)),
        Column("Attempts", _attempts, align=CENTER),
        Column("Progress", _progress_text, align=CENTER, progress=_progress),
        Column("Priority", lambda r: r.priority.value, align=CENTER,
               foreground=lambda r: _PRIORITY_COLOURS.get(r.priority)),
        Column("User", lambda r: r.user),
        Column("Worker", lambda r: r.worker.rsplit(".", 2)[0] if r.worker else ""),
        Column("Enqueued", lambda r: format_recent(r.enqueued_at)),
        Column("Error", lambda r: r.error, tooltip=lambda r: r.error),
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.queue = ""
        self.state = JobState.ACTIVE
        self.eta = ProgressEta()  # fed by every job event, shown or not, so a page shows estimates at once

    def key(self, row: JobRow) -> str:
        return row.job_id

    def set_page(self, queue: str, state: JobState, rows: Iterable[JobRow]) -> None:
        self.queue, self.state = queue, state
        now = time.time()
        self.set_rows([self._timed(row, self.eta.seconds_left(row.job_id, now)) for row in rows])

    @staticmethod
    def _timed(row: JobRow, seconds_left: float | None) -> TimedJobRow:
        fields = {f.name: getattr(row, f.name) for f in dataclasses.fields(JobRow)}
        return TimedJobRow(**fields, seconds_left=seconds_left)

    def apply_job_events(self, events: Iterable[JobEvent]) -> bool:
        """Update shown jobs in place; True when the page itself needs reloading (a job entered or left it)."""
        reload = False
        for event in events:
            seconds_left = self.eta.follow(event)
            row = self.row_for(event.job_id)
            if row is None:
                reload |= event.queue == self.queue and event.state == self.state.value
                continue
            try:
                state = JobState(event.state)
            except ValueError:
                state = JobState.UNKNOWN
            progress = event.progress if state is JobState.ACTIVE else (100 if state is JobState.COMPLETED
                                                                        else row.progress)
            self.replace_row(self._timed(dataclasses.replace(row, state=state, progress=progress,
                                                             error=event.error or row.error), seconds_left))
            reload |= state is not self.state
        return reload



class DeadLetterTableModel(RowTableModel[DeadLetter]):
    """One page of the dead-letter queue: jobs that failed for good, with why."""

    columns = (
        Column("Job", lambda d: str(d.title or d.payload.get("filename") or d.description or d.job_id),
               tooltip=lambda d: d.job_id),
        Column("Queue", lambda d: d.queue),
        Column("Priority", lambda d: d.priority, align=CENTER),
        Column("User", lambda d: d.user),
        Column("Died", lambda d: format_recent(d.failed_at)),
        Column("Attempts", lambda d: str(d.attempts_made), align=CENTER),
        Column("Reason", lambda d: d.reason, tooltip=lambda d: d.reason),
    )

    def key(self, row: DeadLetter) -> str:
        return row.job_id


class WorkerTableModel(RowTableModel[WorkerRow]):
    columns = (
        Column("Worker", lambda w: w.name),
        Column("Host", lambda w: w.hostname),
        Column("State", lambda w: w.state, align=CENTER),
        Column("Queues", lambda w: ", ".join(w.queues)),
        Column("Current job", lambda w: w.current_job_id or ""),
    )

    def key(self, row: WorkerRow) -> str:
        return row.name

    def set_snapshot(self, snapshot: HealthSnapshot) -> None:
        self.set_rows(snapshot.workers if snapshot.connected else ())
