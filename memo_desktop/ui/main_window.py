"""The main window: recorder on top, memo library and live queue panel side by side, errors in a message bar,
connection state in the status bar. It only arranges the widgets and routes messages; `application` wires the
services to them.

Closing is asynchronous: the first close request emits `close_requested` and shows "Finishing…"; the application
runs the ordered shutdown off the GUI thread and calls `finish_closing()` when it is done (or its deadline passed).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QSystemTrayIcon, QVBoxLayout, QWidget

from memo_desktop.ui import icons
from memo_desktop.ui.connection_status_widget import ConnectionStatusWidget
from memo_desktop.ui.memo_library_widget import MemoLibraryWidget
from memo_desktop.ui.notification_widget import NotificationBarWidget
from memo_desktop.ui.queue_panel_widget import QueuePanelWidget
from memo_desktop.ui.recorder_widget import RecorderWidget
from memo_desktop.ui.recording_controller import RecordingController, RecordingPhase
from memo_desktop.core.runtime import ConnectionState

STATUS_TIMEOUT_MS = 8000


class MainWindow(QMainWindow):
    close_requested = Signal()
    settings_requested = Signal()
    schedules_requested = Signal()
    dashboard_requested = Signal()

    def __init__(self, controller: RecordingController, recorder: RecorderWidget, library: MemoLibraryWidget,
                 queue_panel: QueuePanelWidget, ui_state: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Memo Desktop")
        self.setWindowIcon(icons.icon("app"))
        self.controller = controller
        self.recorder = recorder
        self.library = library
        self.queue_panel = queue_panel
        self._ui_state = ui_state
        self._closing = False
        self._may_close = False
        self._tray: QSystemTrayIcon | None = None

        self.notifications = NotificationBarWidget(self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(library)
        self.splitter.addWidget(queue_panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(recorder)
        notification_row = QVBoxLayout()
        notification_row.setContentsMargins(8, 0, 8, 0)
        notification_row.addWidget(self.notifications)
        layout.addLayout(notification_row)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.connection_status = ConnectionStatusWidget(self)
        self.statusBar().addPermanentWidget(self.connection_status)
        self.memo_count_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.memo_count_label)

        # Space: pause/resume while recording, else play/pause the selected memo
        self.space_action = QAction("Play / pause", self)
        self.space_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.space_action.triggered.connect(self._on_space_action_triggered)
        self.addAction(self.space_action)
        self.settings_action = QAction(icons.icon("settings"), "&Settings…", self)
        self.settings_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))
        self.settings_action.triggered.connect(self.settings_requested)
        self.schedules_action = QAction("S&chedules…", self)
        self.schedules_action.setToolTip("Run actions on this library at set times (cron)")
        self.schedules_action.triggered.connect(self.schedules_requested)
        self.dashboard_action = QAction("Open &web dashboard", self)
        self.dashboard_action.setToolTip("The queue dashboard in your browser (setting: web dashboard port)")
        self.dashboard_action.triggered.connect(self.dashboard_requested)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        self._build_menus(quit_action)

        library.status_reported.connect(self.show_status)
        library.error_occurred.connect(self.show_error)
        library.memos_listed.connect(self._on_library_memos_listed)
        queue_panel.status_reported.connect(self.show_status)
        queue_panel.error_occurred.connect(self.show_error)
        controller.recording_failed.connect(self.show_error)
        controller.recording_finished.connect(self._on_controller_recording_finished)
        controller.phase_changed.connect(self._on_controller_phase_changed)

        self._restore_geometry()

    def _build_menus(self, quit_action: QAction) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.library.import_action)
        file_menu.addAction(self.settings_action)
        file_menu.addAction(self.schedules_action)
        file_menu.addAction(self.dashboard_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        record_menu = self.menuBar().addMenu("&Recording")
        for action in (self.recorder.record_action, self.recorder.pause_action, self.recorder.stop_action):
            record_menu.addAction(action)
        memo_menu = self.menuBar().addMenu("&Memo")
        memo_menu.addAction(self.space_action)
        for action in (self.library.rename_action, self.library.delete_action, self.library.copy_link_action):
            memo_menu.addAction(action)
        memo_menu.addSeparator()
        for action in (self.library.analyze_action, self.library.compress_action, self.library.transcribe_action):
            memo_menu.addAction(action)

    # -- messages ---------------------------------------------------------------------------------------------------
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_TIMEOUT_MS)

    def show_error(self, text: str) -> None:
        """Errors stay visible until dismissed (and go to the status bar too, for the record)."""
        self.notifications.show_message(text, "error")
        self.statusBar().showMessage(text, STATUS_TIMEOUT_MS)

    def show_alert(self, kind: str, text: str) -> None:
        """An alert fired or resolved: in the message bar, and as a desktop notification where the desktop has a
        system tray."""
        title = "Memo Desktop: alert" if kind == "fired" else "Memo Desktop: alert resolved"
        self.notifications.show_message(text, "error" if kind == "fired" else "info")
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(icons.icon("app"), self)
                self._tray.show()
            self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning if kind == "fired"
                                   else QSystemTrayIcon.MessageIcon.Information)

    def set_connection_state(self, state: ConnectionState) -> None:
        self.connection_status.set_state(state)
        self.queue_panel.set_connection_state(state)

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_space_action_triggered(self) -> None:
        if self.controller.phase in (RecordingPhase.RECORDING, RecordingPhase.PAUSED):
            self.controller.toggle_pause()
        else:
            self.library.toggle_playback()

    def _on_controller_recording_finished(self, result) -> None:
        if result.ok:
            self.show_status(result.message[:1].upper() + result.message[1:])
        else:
            self.show_error(result.message)
        self.library.refresh()

    def _on_controller_phase_changed(self, phase: RecordingPhase) -> None:
        if phase is RecordingPhase.RECORDING:
            self.statusBar().showMessage("Recording…")
        elif phase is RecordingPhase.PAUSED:
            self.statusBar().showMessage("Paused")

    def _on_library_memos_listed(self, count: int) -> None:
        self.memo_count_label.setText(f"{count} memo{'s' if count != 1 else ''}")

    # -- geometry and closing ---------------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self._ui_state.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 760)
        splitter = self._ui_state.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        else:  # the library needs room for titles; the queue panel's columns are narrow numbers
            width = self.width()
            self.splitter.setSizes([width * 44 // 100, width * 56 // 100])

    def save_geometry(self) -> None:
        self._ui_state.setValue("window/geometry", self.saveGeometry())
        self._ui_state.setValue("window/splitter", self.splitter.saveState())
        self._ui_state.setValue("recording/device", self.recorder.chosen_device())

    @property
    def closing(self) -> bool:
        return self._closing

    def finish_closing(self) -> None:
        self._may_close = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        self._closing = True
        self.save_geometry()
        self.centralWidget().setEnabled(False)
        self.menuBar().setEnabled(False)
        self.statusBar().showMessage("Finishing: saving the recording, handing back running jobs…")
        self.close_requested.emit()
