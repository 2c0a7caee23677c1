"""The Qt models, fed directly (no services): they repaint only what changed and follow job events."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt

from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.monitor import HealthSnapshot, JobRow, QueueCounts
from memo_desktop.ui.memo_table_model import MemoTableModel
from memo_desktop.ui.queue_models import JobTableModel, QueueCountsModel
from memo_desktop.ui.row_table_model import PROGRESS_ROLE


def memo(memo_id: str, **changes) -> Memo:
    base = Memo(id=memo_id, title=f"memo {memo_id}", created_at=1.7e9, duration=12.5, audio_path=Path("/x.wav"),
                size=1000, mime_type="audio/wav", sha256="a" * 64, upload_state=UploadState.QUEUED,
                job_id=f"upload-{memo_id}-{'a' * 16}")
    return dataclasses.replace(base, **changes)


def job(job_id: str, state: JobState = JobState.ACTIVE, progress: int = 0) -> JobRow:
    return JobRow(job_id, "file-process", state, progress, 1, 3, "w1", "", f"title {job_id}", 1.7e9, None)


def test_a_listing_with_the_same_memos_repaints_only_changed_rows(qtbot):
    model = MemoTableModel()
    model.set_memos([memo("m1"), memo("m2")])
    resets, changes = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b: changes.append(a.row()))
    model.set_memos([memo("m1"), memo("m2", title="renamed")])
    assert not resets and changes == [1]
    model.set_memos([memo("m3"), memo("m1"), memo("m2", title="renamed")])
    assert resets == [1] and model.rowCount() == 3


def test_upload_progress_follows_job_events(qtbot):
    model = MemoTableModel()
    model.set_memos([memo("m1")])
    job_id = f"upload-m1-{'a' * 16}"
    ended = model.apply_job_events([JobEvent(job_id, "file-upload@dev", "active", 40)])
    assert not ended
    index = model.index(0, MemoTableModel.UPLOAD)
    assert model.data(index, PROGRESS_ROLE) == 40 and model.data(index) == "uploading 40%"
    assert model.apply_job_events([JobEvent(job_id, "file-upload@dev", "completed", 100)])  # -> refresh
    assert model.data(index, PROGRESS_ROLE) is None


def test_recovered_memos_carry_a_marker(qtbot):
    model = MemoTableModel()
    model.set_memos([memo("m1", recovered=True), memo("m2")])
    title = MemoTableModel.TITLE
    assert model.data(model.index(0, title), Qt.ItemDataRole.DecorationRole) is not None
    assert "Recovered" in model.data(model.index(0, title), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, title), Qt.ItemDataRole.DecorationRole) is None


def test_hidden_memos_leave_the_view_until_unhidden(qtbot):
    model = MemoTableModel()
    model.set_memos([memo("m1"), memo("m2")])
    model.hide(["m1"])
    assert [r.memo.id for r in model.rows] == ["m2"]
    model.set_memos([memo("m1"), memo("m2")])  # a listing during the undo window keeps it hidden
    assert [r.memo.id for r in model.rows] == ["m2"]
    model.unhide(["m1"])
    assert model.rowCount() == 2


def test_editing_a_title_reports_the_rename_and_changes_nothing_itself(qtbot):
    model = MemoTableModel()
    model.set_memos([memo("m1")])
    with qtbot.waitSignal(model.title_edited) as blocker:
        assert model.setData(model.index(0, MemoTableModel.TITLE), "  New   title ", Qt.ItemDataRole.EditRole)
    assert blocker.args == ["m1", "New title"]
    assert model.rows[0].memo.title == "memo m1"  # the library decides; the listing shows the result


def test_job_events_update_rows_in_place_and_ask_for_a_page_reload_when_needed(qtbot):
    model = JobTableModel()
    model.set_page("file-process", JobState.ACTIVE, [job("j1"), job("j2")])
    assert not model.apply_job_events([JobEvent("j1", "file-process", "active", 55)])
    assert model.rows[0].progress == 55
    assert model.data(model.index(0, 3), PROGRESS_ROLE) == 55
    # j2 completed: it leaves the "active" page; j3 started: it enters it; an event of another queue: neither
    assert model.apply_job_events([JobEvent("j2", "file-process", "completed", 100)])
    assert model.rows[1].state is JobState.COMPLETED
    assert model.apply_job_events([JobEvent("j3", "file-process", "active", 0)])
    assert not model.apply_job_events([JobEvent("j4", "file-delete", "active", 0)])


def test_counts_keep_the_last_known_values_when_redis_goes_away(qtbot):
    model = QueueCountsModel()
    model.set_snapshot(HealthSnapshot(True, queues={"file-process": QueueCounts(waiting=3, failed=1)}))
    model.set_snapshot(HealthSnapshot(False, error="Redis unreachable"))
    assert model.counts("file-process") == QueueCounts(waiting=3, failed=1)
    assert model.index(0, 1).data() == "3"


def test_a_running_transcription_shows_its_progress_and_time_left_in_the_library(qtbot):
    model = MemoTableModel()
    model.set_memos([memo("m1", upload_state=UploadState.UPLOADED), memo("m2", upload_state=UploadState.UPLOADED)])
    transcribe_job = "process-transcribe-m1-0123456789ab"
    cell = model.index(0, MemoTableModel.TRANSCRIPT)
    model.apply_job_events([JobEvent(transcribe_job, "file-process", "active", 5, timestamp=1000.0)])
    assert cell.data() == "5%" and cell.data(PROGRESS_ROLE) == 5  # nothing to estimate from yet
    model.apply_job_events([JobEvent(transcribe_job, "file-process", "active", 50, timestamp=1010.0)])
    assert cell.data() == "50% · 0:11 left"  # 45 % in 10 s: 50 % more in 11 s
    assert model.index(1, MemoTableModel.TRANSCRIPT).data() == ""  # the other memo is not being transcribed
    # a listing during the job keeps the progress; the job's end clears it, and the language shows
    model.set_memos([memo("m1", upload_state=UploadState.UPLOADED), memo("m2", upload_state=UploadState.UPLOADED)])
    assert model.index(0, MemoTableModel.TRANSCRIPT).data().startswith("50%")
    model.apply_job_events([JobEvent(transcribe_job, "file-process", "completed", 100, timestamp=1020.0)])
    model.set_memos([memo("m1", upload_state=UploadState.UPLOADED, transcript="hallo", transcript_language="de",
                          transcript_language_probability=0.68)])
    assert model.index(0, MemoTableModel.TRANSCRIPT).data() == "de (68%)"
    assert model.index(0, MemoTableModel.TRANSCRIPT).data(PROGRESS_ROLE) is None
    assert "probability 0.68" in model.index(0, MemoTableModel.TRANSCRIPT).data(Qt.ItemDataRole.ToolTipRole)
    assert len(model.eta) == 0


def test_the_queue_panel_shows_the_time_left_of_running_jobs(qtbot):
    model = JobTableModel()
    model.apply_job_events([JobEvent("j1", "file-process", "active", 10, timestamp=1000.0)])  # before the page
    model.set_page("file-process", JobState.ACTIVE, [job("j1", progress=10)])
    assert model.index(0, 3).data() == "10%"
    model.apply_job_events([JobEvent("j1", "file-process", "active", 40, timestamp=1030.0)])
    assert model.index(0, 3).data() == "40% · 1:00 left" and model.rows[0].seconds_left == 60.0
    model.set_page("file-process", JobState.ACTIVE, [job("j1", progress=40)])  # a page reload keeps the estimate
    assert model.index(0, 3).data().startswith("40% · ")
    model.apply_job_events([JobEvent("j1", "file-process", "completed", 100, timestamp=1060.0)])
    assert model.index(0, 3).data() == "100%" and len(model.eta) == 0
