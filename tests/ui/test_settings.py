"""The settings dialog: a connection test off the GUI thread, and a save that round-trips and applies at once."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from rq import Worker

from memo_desktop.core.config import load_settings
from memo_desktop.core.secrets import S3_SECRET_KEY, get_secret


def open_dialog(qtbot, desktop):
    desktop.window.settings_action.trigger()
    dialog = desktop.settings_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def save_button(dialog):
    return dialog.button_box.button(QDialogButtonBox.StandardButton.Save)


def test_connection_test_reports_clear_errors_and_successes(qtbot, desktop, tmp_path):
    dialog = open_dialog(qtbot, desktop)
    assert dialog.redis_choice.custom.isChecked() and dialog.store_choice.custom.isChecked()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=10_000)
    assert "Redis: connected" in dialog.test_result.text()
    assert "Object store: connected" in dialog.test_result.text()
    dialog.redis_url.setText(f"unix://{tmp_path}/no-redis-here.sock")
    dialog.s3_secret.setText("wrong-secret")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=15_000)
    text = dialog.test_result.text()
    assert "Redis at unix://" in text and "no-redis-here.sock is not reachable" in text
    assert "Object store:" in text and "connected" not in text.split("Object store:")[1]
    dialog.reject()


def test_settings_round_trip_and_apply_without_restart(qtbot, desktop, monkeypatch):
    secret = get_secret(desktop.host.settings, S3_SECRET_KEY)
    dialog = open_dialog(qtbot, desktop)
    dialog.concurrency.setValue(3)
    dialog.rate_limit.setValue(20.0)
    dialog.auto_upload.setChecked(False)
    dialog.auto_compress.setChecked(True)
    dialog.compress_format.setCurrentIndex(dialog.compress_format.findData("opus"))
    dialog.sample_rate.setCurrentIndex(dialog.sample_rate.findData(44100))
    dialog.s3_secret.setText(secret)
    with qtbot.waitSignal(desktop.host.settings_applied, timeout=20_000) as blocker:
        qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    applied = blocker.args[0]
    assert (applied.concurrency, applied.rate_limit, applied.auto_upload, applied.auto_compress,
            applied.compress_format, applied.sample_rate) == (3, 20.0, False, True, "opus", 44100)
    # saved: a fresh load of the data dir's config gives the same values; the secret went to the secret store
    reloaded = load_settings({"data_dir": str(applied.data_dir)}, environ={})
    assert reloaded.replace(job_modules=applied.job_modules) == applied.replace(job_modules=applied.job_modules)
    monkeypatch.delenv("MEMO_S3_SECRET_KEY")
    assert get_secret(reloaded, S3_SECRET_KEY) == secret
    assert "secret" not in applied.config_file.read_text().lower().replace("# memo-desktop settings", "")
    # applied without a restart: the worker pool now has 3 workers, and the panel shows them
    device = applied.device  # 3 job workers now (and the webhook deliveries' own 2, whatever the concurrency)
    qtbot.waitUntil(lambda: sum(w.name.startswith(f"memo-{device}") for w in desktop.queue_panel.workers_model.rows)
                    == 3, timeout=10_000)
    assert desktop.host.settings.concurrency == 3
    # the dialog opens on the saved values
    dialog = open_dialog(qtbot, desktop)
    assert dialog.concurrency.value() == 3 and not dialog.auto_upload.isChecked()
    dialog.reject()


def test_an_invalid_value_is_refused_with_the_field_named(qtbot, desktop):
    dialog = open_dialog(qtbot, desktop)
    dialog.redis_url.setText("http://not-a-redis-url")
    qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "redis_url" in dialog.error_label.text()
    dialog.reject()
    assert desktop.settings_dialog is None


def test_window_geometry_is_remembered(qtbot, app_settings):
    from memo_desktop.ui.application import MemoDesktopApp
    from tests.ui.conftest import close_app, open_app

    desktop = open_app(qtbot, app_settings)
    try:
        desktop.window.resize(780, 520)  # within the offscreen screen (800 x 800): restoreGeometry clamps to it
        desktop.window.splitter.setSizes([200, 560])
        qtbot.waitUntil(lambda: desktop.window.width() == 780, timeout=2_000)
    finally:
        close_app(qtbot, desktop)
    again = MemoDesktopApp(app_settings)  # no services: building the window reads the remembered state
    try:
        assert (again.window.width(), again.window.height()) == (780, 520)
        again.window.show()
        qtbot.waitExposed(again.window)
        sizes = again.window.splitter.sizes()
        assert sizes[0] < sizes[1] / 2
    finally:
        close_app(qtbot, again)  # closing an app whose services never started is quick and clean too


def test_a_settings_change_swaps_the_pool_and_no_job_runs_under_the_old_settings(qtbot, desktop):
    """The old runtime stops first (its running job finishes in its grace time), then the new one starts: every
    job after the swap gets the new settings from the pool that runs it, and the old workers are gone."""
    jobs = desktop.host.context.jobs
    # the 5 job workers and the 2 of the webhook deliveries' pool (which registers a moment after the first)
    qtbot.waitUntil(lambda: len(Worker.all(connection=jobs.connection)) == 7, timeout=10_000)
    old_workers = {w.name for w in Worker.all(connection=jobs.connection)}
    running = jobs.enqueue_function("file-process", "tests.fixtures.jobs.sleep", {"seconds": 1.0, "steps": 4})
    qtbot.waitUntil(lambda: jobs.status(running).state.value == "active", timeout=10_000)
    with qtbot.waitSignal(desktop.host.settings_applied, timeout=30_000):
        desktop.host.apply_settings(desktop.host.settings.replace(concurrency=3))
    assert jobs.status(running).state.value == "completed"
    assert jobs.status(running).worker in old_workers
    new_jobs = desktop.host.context.jobs
    ids = [new_jobs.enqueue_function("file-process", "tests.fixtures.jobs.settings_seen", {}) for _ in range(10)]
    qtbot.waitUntil(lambda: all(new_jobs.status(i).state.value == "completed" for i in ids), timeout=15_000)
    for info in new_jobs.statuses(ids):
        assert info.result["concurrency"] == 3 and info.worker not in old_workers
    assert not old_workers & {w.name for w in Worker.all(connection=new_jobs.connection)}
