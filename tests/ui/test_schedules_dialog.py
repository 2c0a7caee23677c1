"""The schedules dialog: opened from the window, lists this device's schedules with next runs in local time, adds
one (bad input is shown, nothing is added), runs one now and removes it; all off the GUI thread."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from memo_desktop.core.queueing.schedules import ScheduleStore


def _dialog(qtbot, desktop):
    desktop.window.schedules_action.trigger()
    dialog = desktop.schedules_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_add_run_and_remove_a_schedule(qtbot, desktop):
    store = ScheduleStore(desktop.host.context.redis, desktop.host.settings.device)
    dialog = _dialog(qtbot, desktop)
    dialog.name_edit.setText("nightly")
    dialog.cron_edit.setText("0 3 * * *")
    dialog.action_combo.setCurrentIndex(dialog.action_combo.findText("compress-older-than"))
    dialog.days_spin.setValue(30)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=5_000)
    row = dialog.model.rows[0]
    assert (row.schedule.name, str(row.schedule.action)) == ("nightly", "compress-older-than:30")
    shown_next = dialog.model.index(0, 3).data()
    assert shown_next == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.next_run))
    assert shown_next.endswith("03:00:00")  # local time
    assert dialog.model.index(0, 4).data() == "never"

    dialog.name_edit.setText("broken")
    dialog.cron_edit.setText("0 25 * * *")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "invalid cron expression '0 25 * * *'" in dialog.error_label.text(), timeout=5_000)
    assert [s.name for s in store.schedules()[0]] == ["nightly"]  # nothing half-created

    dialog.table.select_keys(["nightly"])
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1 and "(manual): queued 0" in dialog.model.index(0, 4).data(),
                    timeout=10_000)
    assert [r.trigger for r in store.runs("nightly")] == ["manual"]
    dialog.table.select_keys(["nightly"])
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0, timeout=5_000)
    assert store.schedules()[0] == []
    dialog.reject()
    qtbot.waitUntil(lambda: desktop.schedules_dialog is None, timeout=2_000)
