"""The live queue panel against a real Redis and the app's own in-app workers."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import UploadState
from memo_desktop.core.monitor import QueueCounts, read_health
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.priorities import Priority
from memo_desktop.core.services import RedisServer
from memo_desktop.core.services.redis_server import socket_path
from tests.fixtures.jobs import MODULE as JOBS
from tests.ui.conftest import close_app, open_app, write_tone_wav

PROCESS = "file-process"


def counts(desktop, queue: str = PROCESS) -> QueueCounts:
    """What the panel shows for `queue` (all zero before the first snapshot arrives)."""
    return desktop.queue_panel.counts_model.counts(queue) or QueueCounts()


def _counts_equal_redis(desktop, connection) -> bool:
    truth = read_health(connection, desktop.host.context.queue_names(), with_workers=False)
    shown = {row.name: row.counts for row in desktop.queue_panel.counts_model.rows}
    return truth.connected and shown == truth.by_base


def test_panel_counts_equal_what_redis_holds(qtbot, desktop, redis_conn):
    jobs = desktop.host.context.jobs
    jobs.pause("file-delete")  # waiting jobs stay waiting there
    qtbot.wait(1200)  # an idle worker applies a pause at its next poll (up to 1 s)
    for i in range(3):
        jobs.enqueue_function("file-delete", f"{JOBS}.echo", {"value": i})
    for i in range(4):
        jobs.enqueue_function(PROCESS, f"{JOBS}.echo", {"value": i})
    for i in range(2):
        jobs.enqueue_function(PROCESS, f"{JOBS}.fail", {"message": f"broken {i}"})
    qtbot.waitUntil(lambda: counts(desktop).completed == 4 and counts(desktop).failed == 2, timeout=10_000)
    qtbot.waitUntil(lambda: _counts_equal_redis(desktop, redis_conn), timeout=5_000)
    delete_counts = desktop.queue_panel.counts_model.counts("file-delete")
    assert delete_counts.waiting == 3 and delete_counts.paused
    # the job list pages what the counts say
    desktop.queue_panel.show_jobs(PROCESS, JobState.FAILED)
    qtbot.waitUntil(lambda: desktop.queue_panel.jobs_model.rowCount() == 2, timeout=5_000)
    assert {r.error for r in desktop.queue_panel.jobs_model.rows} == {"RuntimeError: broken 0",
                                                                     "RuntimeError: broken 1"}
    assert desktop.queue_panel.page_label.text() == "1–2 of 2"


def test_retry_of_a_failed_job_from_the_panel(qtbot, desktop, redis_conn):
    jobs = desktop.host.context.jobs
    counter = f"retry-counter-{time.time()}"
    job_id = jobs.enqueue_function(PROCESS, f"{JOBS}.fail_then_succeed", {"counter": counter, "failures": 1})
    panel = desktop.queue_panel
    panel.show_jobs(PROCESS, JobState.FAILED)
    qtbot.waitUntil(lambda: panel.jobs_model.row_for(job_id) is not None, timeout=10_000)
    panel.jobs_table.select_keys([job_id])
    assert panel.retry_button.isEnabled()
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counts(desktop).completed == 1
                    and counts(desktop).failed == 0, timeout=10_000)
    assert jobs.status(job_id).state is JobState.COMPLETED
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == 0, timeout=5_000)  # it left the failed page


def test_pause_stops_a_queue_and_resume_restarts_it(qtbot, desktop):
    panel = desktop.queue_panel
    panel.show_jobs(PROCESS, JobState.WAITING)
    qtbot.waitUntil(panel.pause_button.isEnabled, timeout=5_000)  # after the first snapshot
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counts(desktop).paused, timeout=5_000)
    assert panel.pause_button.text() == "Resume queue"
    qtbot.wait(1200)  # idle workers apply a pause at their next poll (within 1 s)
    jobs = desktop.host.context.jobs
    job_id = jobs.enqueue_function(PROCESS, f"{JOBS}.echo", {"value": 1})
    qtbot.waitUntil(lambda: panel.jobs_model.row_for(job_id) is not None, timeout=5_000)
    qtbot.wait(1200)  # more than a worker poll: the job must still be waiting
    assert jobs.status(job_id).state is JobState.WAITING
    assert counts(desktop).waiting == 1
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counts(desktop).completed == 1, timeout=10_000)
    assert not counts(desktop).paused


def test_remove_a_waiting_job(qtbot, desktop):
    panel, jobs = desktop.queue_panel, desktop.host.context.jobs
    jobs.pause(PROCESS)
    qtbot.wait(1200)  # idle workers apply a pause at their next poll (within 1 s)
    waiting = jobs.enqueue_function(PROCESS, f"{JOBS}.echo", {"value": "gone"})
    panel.show_jobs(PROCESS, JobState.WAITING)
    qtbot.waitUntil(lambda: panel.jobs_model.row_for(waiting) is not None, timeout=5_000)
    panel.jobs_table.select_keys([waiting])
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counts(desktop).waiting == 0, timeout=5_000)
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == 0, timeout=5_000)


def test_clear_completed(qtbot, desktop):
    panel, jobs = desktop.queue_panel, desktop.host.context.jobs
    jobs.enqueue_function(PROCESS, f"{JOBS}.echo", {"value": "done"})
    qtbot.waitUntil(lambda: counts(desktop).completed == 1, timeout=10_000)
    panel.show_jobs(PROCESS, JobState.COMPLETED)
    qtbot.waitUntil(panel.clear_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counts(desktop).completed == 0 or "failed" in desktop.window.notifications.text,
                    timeout=5_000)
    assert "failed" not in desktop.window.notifications.text, desktop.window.notifications.text
    assert counts(desktop).completed == 0


def test_workers_of_this_app_are_listed(qtbot, desktop):
    """The 5 job workers (setting 'concurrency'), and the 2 of the webhook deliveries' own pool."""
    device = desktop.host.settings.device
    qtbot.waitUntil(lambda: desktop.queue_panel.workers_model.rowCount() == 7, timeout=5_000)
    rows = desktop.queue_panel.workers_model.rows
    assert sum(w.name.startswith(f"memo-{device}") for w in rows) == 5
    webhook_workers = [w.queues for w in rows if w.name.startswith(f"webhooks-{device}")]
    assert webhook_workers == [(f"webhook-delivery@{device}",)] * 2


def test_offline_first_redis_down_then_back(qtbot, app_settings, tmp_path):
    """Redis down: shown, the library works, an import stays local; Redis back: noticed, uploaded."""
    root = tmp_path / "late-redis"
    later = RedisServer(root)
    url = f"unix://{socket_path(root)}"  # where that server will listen once started
    desktop = open_app(qtbot, app_settings.replace(redis_url=url))
    try:
        state = desktop.window.connection_status.state("redis")
        assert state.connected is False and "Redis" in desktop.window.notifications.text
        desktop.library_widget.import_files([write_tone_wav(tmp_path / "Offline memo.wav", 0.5)])
        model = desktop.library_widget.model
        qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=5_000)
        assert model.rows[0].memo.upload_state is UploadState.LOCAL
        later.acquire()
        qtbot.waitUntil(lambda: desktop.window.connection_status.state("redis").connected is True, timeout=10_000)
        qtbot.waitUntil(lambda: model.rows[0].memo.upload_state is UploadState.UPLOADED, timeout=15_000)
    finally:
        close_app(qtbot, desktop)
        later.stop()


def test_a_waiting_jobs_priority_is_shown_and_changed_from_the_panel(qtbot, desktop):
    panel, jobs = desktop.queue_panel, desktop.host.context.jobs
    jobs.pause(PROCESS)
    qtbot.wait(1200)  # idle workers apply a pause at their next poll (within 1 s)
    job_id = jobs.enqueue_function(PROCESS, f"{JOBS}.echo", {"value": 1}, priority="low", user="ann")
    panel.show_jobs(PROCESS, JobState.WAITING)
    qtbot.waitUntil(lambda: panel.jobs_model.row_for(job_id) is not None, timeout=5_000)
    row = panel.jobs_model.row_for(job_id)
    assert (row.priority.value, row.user) == ("low", "ann")
    panel.jobs_table.select_keys([job_id])
    assert panel.priority_button.isEnabled()
    panel.priority_actions[Priority.HIGH].trigger()
    qtbot.waitUntil(lambda: jobs.status(job_id).priority is Priority.HIGH, timeout=5_000)
    qtbot.waitUntil(lambda: panel.jobs_model.row_for(job_id) is not None
                    and panel.jobs_model.row_for(job_id).priority is Priority.HIGH, timeout=5_000)
    qtbot.waitUntil(lambda: desktop.queue_panel.users_model.row_for("ann") is not None, timeout=5_000)
    assert desktop.queue_panel.users_model.row_for("ann").counts.waiting == 1
    jobs.resume(PROCESS)
    qtbot.waitUntil(lambda: jobs.status(job_id).state is JobState.COMPLETED, timeout=10_000)


def test_dead_letters_are_listed_requeued_and_purged_from_the_panel(qtbot, desktop):
    from PySide6.QtWidgets import QMessageBox

    panel, jobs = desktop.queue_panel, desktop.host.context.jobs
    dead = panel.dead_letters
    ids = [jobs.enqueue_function(PROCESS, f"{JOBS}.fail", {"message": f"<b>boom {i}</b>"}) for i in range(3)]
    qtbot.waitUntil(lambda: dead.model.rowCount() == 3, timeout=15_000)
    qtbot.waitUntil(lambda: panel.tabs.tabText(1) == "Dead letters (3)", timeout=5_000)
    assert {r.reason for r in dead.model.rows} == {f"RuntimeError: <b>boom {i}</b>" for i in range(3)}
    tooltip = dead.model.data(dead.model.index(0, 6), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;" in tooltip and "<b>" not in tooltip.removeprefix("<qt>")  # text, never markup
    dead.table.select_keys([ids[0]])
    qtbot.mouseClick(dead.requeue_button, Qt.MouseButton.LeftButton)
    ran_again = lambda: len(jobs.fetch(ids[0]).results()) == 2 and jobs.status(ids[0]).state is JobState.FAILED  # noqa
    qtbot.waitUntil(lambda: ran_again() and dead_letters.contains(desktop.host.context.redis, ids[0]),
                    timeout=15_000)  # it ran with a fresh attempt, failed again (attempts=1): back here
    qtbot.waitUntil(lambda: dead.model.rowCount() == 3, timeout=5_000)
    qtbot.mouseClick(dead.purge_all_button, Qt.MouseButton.LeftButton)
    assert dead.purge_box is not None and "Forget all 3 dead letters" in dead.purge_box.text()
    qtbot.mouseClick(dead.purge_box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dead.model.rowCount() == 0, timeout=10_000)
    qtbot.waitUntil(lambda: panel.tabs.tabText(1) == "Dead letters", timeout=5_000)
    assert jobs.status(ids[1]).state is JobState.FAILED  # purged from the dead letters, still in the history
