"""Playing a memo: a file reader thread -> bounded block queue -> PortAudio output callback. No Qt here.

The shape mirrors the recorder: the audio callback only copies ready blocks (no I/O, no locks, no waiting; it
plays silence when the reader is late); a reader thread owned by the player opens the file and the output stream,
reads ahead and closes everything. `play`, `pause`, `resume`, `seek` and `stop` only set flags and return at once,
so a GUI may call them from its event loop; `position`, `duration` and `state` are plain attribute reads. Only
`close(timeout)` waits (it joins the thread).

Each `play()` is one *session*; blocks carry their session's seek generation and first frame, so a seek never
plays a stale block and the position is always the frame actually handed to the device.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memo_desktop.core.errors import MemoError
from memo_desktop.core.portaudio import import_sounddevice

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.05
READ_AHEAD_BLOCKS = 10  # 0.5 s: enough to ride out a slow disk, small enough that a seek feels instant


class PlaybackError(MemoError):
    """A file cannot be played: unreadable audio, or no audio output device."""


class PlaybackState(str, Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


@dataclass(frozen=True)
class _Block:
    generation: int
    start_frame: int
    samples: np.ndarray | None  # None: end of file


class _Session:
    """The state of one `play()`, shared by the reader thread and the callback (one writer per attribute)."""

    def __init__(self, path: Path, start_seconds: float) -> None:
        self.path = path
        self.start_seconds = start_seconds
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.paused = False  # control thread
        self.seek_request: float | None = None  # control thread sets, reader clears
        self.generation = 0  # reader
        self.sample_rate = 0  # reader
        self.duration = 0.0  # reader
        self.position_frame = 0  # callback (and reader before the stream starts)
        self.drained = False  # callback: the end-of-file block was reached
        self.blocks: queue.Queue[_Block] = queue.Queue(maxsize=READ_AHEAD_BLOCKS)
        self.current: _Block | None = None  # callback
        self.offset = 0  # callback


class AudioPlayer:
    """Plays one file at a time. `on_finished(path, error)` runs on the player thread when a session ends."""

    def __init__(self, on_finished: Callable[[Path, PlaybackError | None], None] | None = None,
                 device: int | str | None = None) -> None:
        self._on_finished = on_finished
        self._device = device
        self._session: _Session | None = None
        self._thread: threading.Thread | None = None
        self._old_threads: list[threading.Thread] = []
        self.last_error: PlaybackError | None = None  # why the last session ended early (for pollers)

    # -- reads, from any thread ---------------------------------------------------------------------------------------
    @property
    def state(self) -> PlaybackState:
        session = self._session
        if session is None or session.stop.is_set():
            return PlaybackState.STOPPED
        return PlaybackState.PAUSED if session.paused else PlaybackState.PLAYING

    @property
    def path(self) -> Path | None:
        session = self._session
        return session.path if session is not None and not session.stop.is_set() else None

    @property
    def position(self) -> float:
        session = self._session
        if session is None or not session.sample_rate:
            return 0.0
        if session.seek_request is not None:  # show where we are going, not where we were
            return session.seek_request
        return session.position_frame / session.sample_rate

    @property
    def duration(self) -> float:
        session = self._session
        return session.duration if session is not None else 0.0

    # -- control: flags only, never waits ---------------------------------------------------------------------------
    def play(self, path: Path | str, start: float = 0.0) -> None:
        self.stop()
        self.last_error = None
        session = _Session(Path(path), max(0.0, start))
        self._session = session
        self._old_threads = [t for t in self._old_threads if t.is_alive()]
        if self._thread is not None:
            self._old_threads.append(self._thread)
        self._thread = threading.Thread(target=self._run, args=(session,), name="audio-player", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        if self._session is not None:
            self._session.paused = True

    def resume(self) -> None:
        if self._session is not None:
            self._session.paused = False

    def seek(self, seconds: float) -> None:
        session = self._session
        if session is not None and not session.stop.is_set():
            session.seek_request = max(0.0, seconds)
            session.wake.set()

    def stop(self) -> None:
        session = self._session
        if session is not None:
            session.stop.set()
            session.wake.set()

    def close(self, timeout: float = 2.0) -> bool:
        """Stop and wait for the player thread(s) to end; False if one is still alive after `timeout`."""
        self.stop()
        threads = [t for t in (*self._old_threads, self._thread) if t is not None]
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

    # -- the output callback (audio thread: copies only) ------------------------------------------------------------
    @staticmethod
    def _fill(session: _Session, out: np.ndarray, frames: int) -> None:
        filled = 0
        if not session.paused:
            while filled < frames:
                block = session.current
                if block is None or block.generation != session.generation or (
                        block.samples is not None and session.offset >= len(block.samples)):
                    try:
                        block = session.blocks.get_nowait()
                    except queue.Empty:
                        break  # the reader is late (or seeking): silence, never a wait
                    session.current, session.offset = block, 0
                    if block.generation != session.generation:
                        continue
                if block.samples is None:
                    session.drained = True
                    session.wake.set()
                    break
                take = min(frames - filled, len(block.samples) - session.offset)
                out[filled:filled + take] = block.samples[session.offset:session.offset + take]
                session.offset += take
                session.position_frame = block.start_frame + session.offset
                filled += take
        out[filled:] = 0

    # -- the player thread ---------------------------------------------------------------------------------------------
    def _run(self, session: _Session) -> None:
        error: PlaybackError | None = None
        try:
            self._play_session(session)
        except PlaybackError as exc:
            error = exc
            self.last_error = exc
        finally:
            session.stop.set()
            if self._on_finished is not None:
                self._on_finished(session.path, error)

    def _play_session(self, session: _Session) -> None:
        import soundfile

        try:
            audio = soundfile.SoundFile(str(session.path))
        except (soundfile.LibsndfileError, OSError) as exc:
            raise PlaybackError(f"cannot play {session.path.name}: {exc}") from None
        with audio:
            session.sample_rate = audio.samplerate
            session.duration = audio.frames / audio.samplerate if audio.samplerate else 0.0
            block_frames = max(256, int(BLOCK_SECONDS * audio.samplerate))
            frame = self._seek_file(audio, session, session.start_seconds)
            sd = _sounddevice()

            def callback(out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
                self._fill(session, out, frames)

            try:
                stream = sd.OutputStream(device=self._device, samplerate=audio.samplerate, channels=audio.channels,
                                         dtype="float32", blocksize=block_frames, callback=callback)
            except (sd.PortAudioError, ValueError) as exc:
                raise PlaybackError(f"no audio output available to play {session.path.name}: {exc}") from None
            with stream:
                self._feed(audio, session, block_frames, frame)

    def _seek_file(self, audio: Any, session: _Session, seconds: float) -> int:
        frame = min(int(seconds * audio.samplerate), audio.frames)
        audio.seek(frame)
        session.position_frame = frame
        return frame

    def _feed(self, audio: Any, session: _Session, block_frames: int, frame: int) -> None:
        at_end = False
        while not session.stop.is_set():
            target = session.seek_request
            if target is not None:
                session.generation += 1  # the callback drops every block read before this point
                frame = self._seek_file(audio, session, target)
                session.seek_request = None
                session.drained = False
                at_end = False
                _drain_queue(session.blocks)
            if at_end:
                if session.drained:
                    return
                session.wake.wait(0.05)
                session.wake.clear()
                continue
            samples = audio.read(block_frames, dtype="float32", always_2d=True)
            block = _Block(session.generation, frame, samples if len(samples) else None)
            at_end = block.samples is None
            frame += len(samples)
            while not session.stop.is_set() and session.seek_request is None:
                try:
                    session.blocks.put(block, timeout=0.05)
                    break
                except queue.Full:
                    continue


def _drain_queue(blocks: queue.Queue[_Block]) -> None:
    while True:
        try:
            blocks.get_nowait()
        except queue.Empty:
            return


def _sounddevice() -> Any:
    return import_sounddevice(PlaybackError, "play audio")
