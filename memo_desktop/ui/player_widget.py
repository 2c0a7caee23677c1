"""Play / pause and a seek slider for the selected memo, over core.playback.AudioPlayer.

The player does its file and PortAudio work on its own thread; this widget only sets flags on it and, while
something plays, polls its position and state from a timer (in-memory reads), telling it on as `position_changed`
(the transcript highlights the segment being spoken). `play_from(seconds)` plays the selected memo from a moment (a
clicked transcript segment); `cue(seconds)` only moves where the next Play starts (a search hit).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from memo_desktop.core.library import Memo
from memo_desktop.core.playback import AudioPlayer, PlaybackState
from memo_desktop.ui import icons
from memo_desktop.ui.formatting import format_duration

POSITION_INTERVAL_MS = 100
SLIDER_STEPS_PER_SECOND = 10


class PlayerWidget(QWidget):
    playback_failed = Signal(str)
    position_changed = Signal(object, float)  # the file playing (a Path), seconds into it; while playing or paused

    def __init__(self, player: AudioPlayer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._player = player
        self._memo: Memo | None = None
        self._cue = 0.0  # where Play starts the selected memo
        self.play_button = QToolButton(self)
        self.play_button.setIcon(icons.icon("play"))
        self.play_button.setToolTip("Play or pause the selected memo (Space when not recording)")
        self.play_button.clicked.connect(self._on_play_button_clicked)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setEnabled(False)
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.time_label = QLabel("0:00 / 0:00", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)
        self._timer = QTimer(self)
        self._timer.setInterval(POSITION_INTERVAL_MS)
        self._timer.timeout.connect(self._on_position_timer_timeout)
        self.set_memo(None)

    @property
    def playing_path(self) -> Path | None:
        return self._player.path

    def set_memo(self, memo: Memo | None) -> None:
        """The memo the buttons act on (the selection); what is playing keeps playing."""
        if memo is None or self._memo is None or memo.id != self._memo.id:
            self._cue = 0.0
        self._memo = memo
        self.play_button.setEnabled(memo is not None or self._player.state is not PlaybackState.STOPPED)
        if self._player.state is PlaybackState.STOPPED:
            self._show_position(self._cue, memo.duration if memo else 0.0)

    @property
    def cued(self) -> float:
        return self._cue

    def cue(self, seconds: float) -> None:
        """Play will start the selected memo at `seconds` (unless it is already playing: then nothing changes)."""
        self._cue = max(0.0, seconds)
        if self._memo is not None and self._player.state is PlaybackState.STOPPED:
            self.slider.setRange(0, int(self._memo.duration * SLIDER_STEPS_PER_SECOND))
            self._show_position(self._cue, self._memo.duration)

    def play_from(self, seconds: float) -> None:
        """Play the selected memo from `seconds`: a seek if it is the one playing (or paused), else a new start."""
        if self._memo is None:
            return
        seconds = max(0.0, seconds)
        if self._player.state is not PlaybackState.STOPPED and self._player.path == self._memo.audio_path:
            self._player.seek(seconds)
            self._player.resume()
        else:
            self._start(seconds)
        if not self._timer.isActive():
            self._timer.start()
        self._update_button()

    def toggle(self) -> None:
        state = self._player.state
        selected = self._memo.audio_path if self._memo is not None else None
        if state is PlaybackState.PLAYING and (selected is None or selected == self._player.path):
            self._player.pause()
        elif state is PlaybackState.PAUSED and (selected is None or selected == self._player.path):
            self._player.resume()
        elif self._memo is not None:
            self._start(self._cue)
        if not self._timer.isActive():
            self._timer.start()
        self._update_button()

    def stop(self) -> None:
        self._player.stop()

    def _start(self, seconds: float) -> None:
        self._player.play(self._memo.audio_path, start=seconds)
        self.slider.setRange(0, int(self._memo.duration * SLIDER_STEPS_PER_SECOND))
        self.slider.setEnabled(True)

    def _on_play_button_clicked(self) -> None:
        self.toggle()

    def _on_slider_released(self) -> None:
        self._player.seek(self.slider.value() / SLIDER_STEPS_PER_SECOND)

    def _on_position_timer_timeout(self) -> None:
        state = self._player.state
        duration = self._player.duration or (self._memo.duration if self._memo else 0.0)
        if state is PlaybackState.STOPPED:
            self._timer.stop()
            self.slider.setEnabled(False)
            error = self._player.last_error
            if error is not None:
                self._player.last_error = None
                self.playback_failed.emit(str(error))
            self._show_position(0.0, self._memo.duration if self._memo else duration)
        else:
            position = self._player.position
            self._show_position(position, duration)
            self.position_changed.emit(self._player.path, position)
        self._update_button()

    def _show_position(self, position: float, duration: float) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(int(position * SLIDER_STEPS_PER_SECOND))
        self.time_label.setText(f"{format_duration(position)} / {format_duration(duration)}")

    def _update_button(self) -> None:
        playing = self._player.state is PlaybackState.PLAYING
        self.play_button.setIcon(icons.icon("pause" if playing else "play"))
        self.play_button.setToolTip("Pause" if playing else "Play the selected memo")
