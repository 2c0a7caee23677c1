"""The one place that wires the desktop app together (settings -> services -> controllers -> widgets -> window).

    run(settings) -> exit code          what `memo-desktop` (no subcommand) calls
    MemoDesktopApp(settings).start()    the same app without an event loop of its own (tests, screenshots)

Shutdown (closing the window) is ordered and bounded, and runs off the GUI thread on the service host:
pending deletions and a running recording are finished first (the memo is kept and queued), background tasks are
drained, playback stops, then workers finish or hand their job back, then the watcher, then the embedded services.
A deadline closes the window even if a step hangs; every step has its own timeout, so none should.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys

from PySide6.QtCore import QObject, QSettings, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from memo_desktop.core.alerts import Alert
from memo_desktop.core.config import Settings
from memo_desktop.core.installation import APP_ID
from memo_desktop.core.playback import AudioPlayer
from memo_desktop.core.runtime import StartReport
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.main_window import MainWindow
from memo_desktop.ui.memo_library_widget import MemoLibraryWidget
from memo_desktop.ui.queue_panel_widget import QueuePanelWidget
from memo_desktop.ui.recorder_widget import RecorderWidget
from memo_desktop.ui.recording_controller import RecordingController
from memo_desktop.ui.schedules_dialog import SchedulesDialog
from memo_desktop.ui.service_host import ServiceHost
from memo_desktop.ui.settings_dialog import SettingsDialog, store_settings

log = logging.getLogger(__name__)

RUNNER_DRAIN_TIMEOUT = 20.0  # s for queued imports/deletions/recording stop to finish at shutdown
RECORDING_STOP_TIMEOUT = 15.0
PLAYER_STOP_TIMEOUT = 2.0
SHUTDOWN_DEADLINE_MS = 60_000  # the window closes after this even if a step is stuck (each step is bounded anyway)
UI_STATE_FILE = "ui-state.ini"


class MemoDesktopApp(QObject):
    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = BackgroundRunner(parent=self)
        self.host = ServiceHost(settings, parent=self)
        self.player = AudioPlayer()
        self.controller = RecordingController(self.runner, self._context, self.player, parent=self)
        # QSettings only for window geometry and the last input device, kept in the data dir like everything else
        self.ui_state = QSettings(str(settings.data_dir / UI_STATE_FILE), QSettings.Format.IniFormat)
        device = str(self.ui_state.value("recording/device", settings.input_device) or "")
        self.recorder_widget = RecorderWidget(self.controller, device)
        self.library_widget = MemoLibraryWidget(self.runner, self._context, self.player)
        self.queue_panel = QueuePanelWidget(self.runner, self._context, self.host.refresh_snapshot)
        self.window = MainWindow(self.controller, self.recorder_widget, self.library_widget, self.queue_panel,
                                 self.ui_state)
        self.settings_dialog: SettingsDialog | None = None
        self.schedules_dialog: SchedulesDialog | None = None
        self.opened_dashboard = ""  # the last dashboard URL given to the browser
        self.shut_down = False

        self.runner.task_failed.connect(self.window.show_error)
        self.host.connection_changed.connect(self.window.set_connection_state)
        self.host.snapshot_taken.connect(self.queue_panel.apply_snapshot)
        self.host.job_events_received.connect(self.queue_panel.apply_job_events)
        self.host.job_events_received.connect(self.library_widget.apply_job_events)
        self.host.library_changed.connect(self.library_widget.refresh)
        self.host.problem_reported.connect(self.window.show_error)
        self.host.startup_finished.connect(self._on_host_startup_finished)
        self.host.settings_applied.connect(self._on_host_settings_applied)
        self.host.shutdown_finished.connect(self._on_host_shutdown_finished)
        self.window.settings_requested.connect(self._on_window_settings_requested)
        self.window.schedules_requested.connect(self._on_window_schedules_requested)
        self.window.dashboard_requested.connect(self._on_window_dashboard_requested)
        self.host.alert_changed.connect(self._on_host_alert_changed)
        self.window.close_requested.connect(self._on_window_close_requested)

        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(SHUTDOWN_DEADLINE_MS)
        self._deadline.timeout.connect(self._on_deadline_timeout)

    def _context(self):
        return self.host.context

    def start(self) -> MemoDesktopApp:
        self.library_widget.refresh()  # the library needs no service: memos show before Redis is up
        self.host.start()
        self.window.show()
        return self

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_host_startup_finished(self, report: StartReport) -> None:
        # Everything alive now (modules, widgets, services) lives as long as the app: keep it out of the garbage
        # collector's full passes, which would otherwise stall whichever thread triggers them (measured: ~100 ms
        # over a heap of 125k objects; 0 ms once frozen)
        gc.freeze()
        parts = []
        if report.recovered_titles:
            parts.append(f"recovered {len(report.recovered_titles)} interrupted recording(s)")
        if report.requeued:
            parts.append(f"re-queued {report.requeued} pending upload(s)")
        if report.workers:
            parts.append(f"{report.workers} workers running")
        self.window.show_status("Ready" + (": " + ", ".join(parts) if parts else ""))
        self.library_widget.refresh()

    def _on_window_settings_requested(self) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return
        self.settings_dialog = SettingsDialog(self.host.settings, self.runner, self.window, context=self._context)
        self.settings_dialog.finished.connect(self._on_settings_dialog_finished)
        self.settings_dialog.open()

    def _on_window_schedules_requested(self) -> None:
        if self.schedules_dialog is not None:
            self.schedules_dialog.raise_()
            return
        self.schedules_dialog = SchedulesDialog(self.runner, self._context, self.window)
        self.schedules_dialog.finished.connect(self._on_schedules_dialog_finished)
        self.schedules_dialog.open()

    def _on_schedules_dialog_finished(self, _code: int) -> None:
        dialog, self.schedules_dialog = self.schedules_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def _on_window_dashboard_requested(self) -> None:
        from memo_desktop.web.server import http_server_of  # the part of the running runtime: no I/O here

        server = http_server_of(self.host.runtime)
        if server is None or server.web is None:
            self.window.show_error("The web dashboard is off: set its port in Settings (Operations)")
            return
        self.opened_dashboard = server.url(with_token=True)
        if not QDesktopServices.openUrl(QUrl(self.opened_dashboard)):
            self.window.show_error("No browser could be opened for the web dashboard")

    def _on_host_alert_changed(self, kind: str, alert: Alert) -> None:
        prefix = "Alert: " if kind == "fired" else "Resolved: "
        self.window.show_alert(kind, prefix + alert.describe())

    def _on_settings_dialog_finished(self, _code: int) -> None:
        dialog, self.settings_dialog = self.settings_dialog, None
        if dialog is None:
            return
        new = dialog.result_settings
        secret = dialog.new_secret()
        dialog.deleteLater()
        if new is None:
            return
        self.window.show_status("Saving settings…")
        self.runner.submit(store_settings, new, secret, on_result=self.host.apply_settings,
                           on_error=lambda exc: self.window.show_error(f"Settings not saved: {describe_error(exc)}"))

    def _on_host_settings_applied(self, _settings: Settings) -> None:
        self.window.show_status("Settings saved and applied")
        self.library_widget.refresh()

    def _on_window_close_requested(self) -> None:
        self.library_widget.commit_pending_deletions()
        self.library_widget.player.stop()
        self.controller.stop()
        self._deadline.start()
        self.host.shutdown(before=(self._drain_runner, self._finish_recording,
                                   lambda: self.player.close(PLAYER_STOP_TIMEOUT)))

    # shutdown steps: these run on the service host thread
    def _drain_runner(self) -> None:
        self.runner.close()
        if not self.runner.wait_for_done(RUNNER_DRAIN_TIMEOUT):
            log.warning("background tasks still running after %.0f s at shutdown", RUNNER_DRAIN_TIMEOUT)

    def _finish_recording(self) -> None:
        self.controller.finish_blocking(RECORDING_STOP_TIMEOUT)

    def _on_host_shutdown_finished(self) -> None:
        self._deadline.stop()
        self.host.join(2.0)
        self.shut_down = True
        self._dispose()

    def _on_deadline_timeout(self) -> None:
        log.error("shutdown did not finish within %d s; closing anyway", SHUTDOWN_DEADLINE_MS // 1000)
        self._dispose()

    def _dispose(self) -> None:
        """Close the window and delete every Qt object of the app now, on the GUI thread.

        Left to Python, these objects (held in reference cycles by their slots) would be freed by the cyclic garbage
        collector in whatever thread happens to trigger it, and Qt objects with timers or a thread pool must not be
        destroyed outside their own thread (an intermittent segfault in tests, before this).
        """
        self.window.finish_closing()
        self.window.deleteLater()
        self.deleteLater()


def run(settings: Settings) -> int:
    """Start the desktop app and run it until its window is closed; returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("memo-desktop")
    app.setApplicationDisplayName("Memo Desktop")
    app.setDesktopFileName(APP_ID)  # the desktop entry's name: how Wayland desktops match the window to it
    desktop = MemoDesktopApp(settings).start()
    _close_on_termination_signals(desktop)
    code = app.exec()
    if not desktop.shut_down:  # the event loop ended some other way (e.g. a signal): still stop in order
        desktop.host.shutdown()
        desktop.host.join(SHUTDOWN_DEADLINE_MS / 1000)
    return code


def _close_on_termination_signals(desktop: MemoDesktopApp) -> None:
    """Ctrl-C (SIGINT) and SIGTERM (logout, `kill`) close the window as the user would, so the ordered shutdown
    runs (recording kept, jobs handed back, services stopped). Python runs signal handlers only between bytecodes,
    and Qt's event loop runs none while it waits: a timer lets the interpreter look every 250 ms."""

    def on_signal(signum: int, frame: object) -> None:
        log.info("%s: closing", signal.Signals(signum).name)
        QTimer.singleShot(0, desktop.window.close)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    wakeup = QTimer(desktop)
    wakeup.timeout.connect(lambda: None)
    wakeup.start(250)
