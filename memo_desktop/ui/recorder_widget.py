"""Record / pause / stop, the elapsed time, a live level meter and the input device chooser.

The meter is driven by a ~30 Hz QTimer that *reads* the recorder's last level and elapsed time (in-memory values
the audio callback publishes); the audio thread never sends a signal per block. The timer runs only while a
recording is in progress.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from memo_desktop.core.recorder import InputDevice, RecordingResult
from memo_desktop.ui import icons
from memo_desktop.ui.formatting import format_elapsed
from memo_desktop.ui.level_meter_widget import LevelMeterWidget
from memo_desktop.ui.recording_controller import RecordingController, RecordingPhase

METER_INTERVAL_MS = 33
NO_DEVICE_TEXT = ("No audio input device found. Connect a microphone (or start the sound server), "
                  "then click Rescan.")


class RecorderWidget(QWidget):
    device_chosen = Signal(str)  # the name (or "" for the system default) to remember

    def __init__(self, controller: RecordingController, device: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._wanted_device = device
        self._devices: tuple[InputDevice, ...] | None = None  # None: not listed yet

        self.record_action = QAction(icons.icon("record"), "&Record", self)
        self.record_action.setShortcut(QKeySequence("Ctrl+R"))
        self.record_action.setToolTip("Start recording (Ctrl+R)")
        self.record_action.triggered.connect(self._on_record_action_triggered)
        self.pause_action = QAction(icons.icon("pause"), "&Pause", self)
        self.pause_action.setCheckable(True)
        self.pause_action.setToolTip("Pause or resume the recording (Space)")
        self.pause_action.triggered.connect(self._on_pause_action_triggered)
        self.stop_action = QAction(icons.icon("stop"), "&Stop", self)
        self.stop_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.stop_action.setToolTip("Stop and keep the recording (Ctrl+Shift+R)")
        self.stop_action.triggered.connect(self._on_stop_action_triggered)

        buttons = QHBoxLayout()
        for action in (self.record_action, self.pause_action, self.stop_action):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAutoRaise(False)
            buttons.addWidget(button)
        self.elapsed_label = QLabel(format_elapsed(0), self)
        self.elapsed_label.setAccessibleName("Elapsed time")
        font = self.elapsed_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setStyleHint(font.StyleHint.Monospace)
        font.setFamily("monospace")
        self.elapsed_label.setFont(font)
        self.elapsed_label.setMinimumWidth(self.elapsed_label.fontMetrics().horizontalAdvance("00:00:00.0") + 8)
        buttons.addSpacing(12)
        buttons.addWidget(self.elapsed_label)
        self.meter = LevelMeterWidget(self)
        buttons.addWidget(self.meter, 1)

        devices = QHBoxLayout()
        devices.addWidget(QLabel("Input:", self))
        self.device_combo = QComboBox(self)
        self.device_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.device_combo.setPlaceholderText("Looking for input devices…")
        self.device_combo.activated.connect(self._on_device_combo_activated)
        devices.addWidget(self.device_combo, 1)
        self.rescan_button = QToolButton(self)
        self.rescan_button.setIcon(icons.icon("rescan"))
        self.rescan_button.setText("Rescan")
        self.rescan_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.rescan_button.setToolTip("Look for input devices again (a microphone was plugged in)")
        self.rescan_button.clicked.connect(self._on_rescan_button_clicked)
        devices.addWidget(self.rescan_button)

        self.device_message = QLabel(self)
        self.device_message.setWordWrap(True)
        self.device_message.setStyleSheet("color: #b3261e;")
        self.device_message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(buttons)
        layout.addLayout(devices)
        layout.addWidget(self.device_message)

        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(METER_INTERVAL_MS)
        self._meter_timer.timeout.connect(self._on_meter_timer_timeout)

        controller.phase_changed.connect(self._on_controller_phase_changed)
        controller.devices_listed.connect(self._on_controller_devices_listed)
        controller.device_scan_failed.connect(self._on_controller_device_scan_failed)
        controller.recording_finished.connect(self._on_controller_recording_finished)
        self._update_actions()
        controller.list_devices()

    # -- reads ----------------------------------------------------------------------------------------------------
    def chosen_device(self) -> str:
        data = self.device_combo.currentData()
        return data if isinstance(data, str) else self._wanted_device

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_record_action_triggered(self) -> None:
        self._controller.start(self.chosen_device())

    def _on_pause_action_triggered(self) -> None:
        self._controller.toggle_pause()
        self._update_actions()

    def _on_stop_action_triggered(self) -> None:
        self._controller.stop()

    def _on_rescan_button_clicked(self) -> None:
        self.rescan_button.setEnabled(False)
        self.device_combo.setPlaceholderText("Looking for input devices…")
        self._controller.list_devices(rescan_first=True)

    def _on_device_combo_activated(self, _index: int) -> None:
        self._wanted_device = self.chosen_device()
        self.device_chosen.emit(self._wanted_device)

    def _on_controller_devices_listed(self, found: tuple[InputDevice, ...]) -> None:
        self._devices = found
        self.device_combo.clear()
        if found:
            default = next((d for d in found if d.is_default), found[0])
            self.device_combo.addItem(f"System default ({default.name})", "")
            for device in found:
                self.device_combo.addItem(f"{device.name}  [{device.host_api}]", device.name)
            wanted = self.device_combo.findData(self._wanted_device)
            self.device_combo.setCurrentIndex(max(0, wanted))
            self.device_message.hide()
        else:
            self.device_combo.setPlaceholderText("No input device")
            self.device_message.setText(NO_DEVICE_TEXT)
            self.device_message.show()
        self._update_actions()

    def _on_controller_device_scan_failed(self, message: str) -> None:
        self.device_message.setText(message)
        self.device_message.show()
        self._update_actions()

    def _on_controller_phase_changed(self, phase: RecordingPhase) -> None:
        # the clock says at a glance whether audio is being captured: red while recording, amber while paused
        colour = {RecordingPhase.RECORDING: "#d93025", RecordingPhase.PAUSED: "#e37400"}.get(phase)
        self.elapsed_label.setStyleSheet(f"color: {colour};" if colour else "")
        if phase is RecordingPhase.RECORDING and not self._meter_timer.isActive():
            self._meter_timer.start()
        elif phase is RecordingPhase.IDLE:
            self._meter_timer.stop()
            self.meter.clear()
        self._update_actions()

    def _on_controller_recording_finished(self, result: RecordingResult) -> None:
        self.elapsed_label.setText(format_elapsed(result.duration))

    def _on_meter_timer_timeout(self) -> None:
        # in-memory reads only: the last block's level and the frame counter
        level = self._controller.level()
        if level is not None:
            self.meter.set_level(level.peak_dbfs, level.rms_dbfs)
        self.elapsed_label.setText(format_elapsed(self._controller.elapsed()))
        self._controller.poll()

    def _update_actions(self) -> None:
        phase = self._controller.phase
        has_device = bool(self._devices)
        self.record_action.setEnabled(phase is RecordingPhase.IDLE and has_device)
        self.pause_action.setEnabled(phase in (RecordingPhase.RECORDING, RecordingPhase.PAUSED))
        self.pause_action.setChecked(phase is RecordingPhase.PAUSED)
        self.pause_action.setText("Resume" if phase is RecordingPhase.PAUSED else "Pause")
        self.stop_action.setEnabled(phase in (RecordingPhase.RECORDING, RecordingPhase.PAUSED))
        self.rescan_button.setEnabled(phase is RecordingPhase.IDLE)
        self.device_combo.setEnabled(phase is RecordingPhase.IDLE and has_device)
