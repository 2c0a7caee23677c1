"""Recorder: PortAudio callback -> bounded block ring -> writer thread -> crash-safe WAV.

Threads:
- the PortAudio callback copies each block into the ring, updates the level and counts; it takes no lock, does no
  I/O and never waits. Everything it shares is a plain attribute (one writer each, atomic under the GIL).
- the writer thread, owned by the Recorder, drains the ring to the file a few times a second, watches for the
  end (stop requested, maximum duration, device gone, write failure), then finalises: closes the stream and the
  file, renames it to its final name and calls `on_finished(result)` (the app adds the memo to the library and
  queues its upload there; the core recorder knows nothing about either).
- any caller thread: start / pause / resume / stop, and `level`, `elapsed`, `state` at any moment.

Whatever ends a recording, the audio captured so far is kept and the reason is in the result (`stop_reason`,
`error`, `message`); nothing is lost silently (input overflows and dropped blocks are counted and reported).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import NoInputDevice, RecorderError
from memo_desktop.core.private_files import make_private_dir
from memo_desktop.core.recorder import devices
from memo_desktop.core.recorder.block_ring import BlockRing
from memo_desktop.core.recorder.devices import InputDevice
from memo_desktop.core.recorder.level import Level, LevelMeter
from memo_desktop.core.recorder.result import RecorderState, RecordingResult, StopReason
from memo_desktop.core.recorder.sidecar import HeldSidecar, RecordingPaths, move_without_replacing, new_sidecar_info
from memo_desktop.core.recorder.timing import CallbackTimings
from memo_desktop.core.recorder.wav_repair import repair_wav_header
from memo_desktop.core.recorder.wav_writer import WavWriter

log = logging.getLogger(__name__)

FinishedHook = Callable[[RecordingResult], None]


class Recorder:
    """One recording: `start()`, optionally `pause()`/`resume()`, then `stop()` (always: it joins the thread).

    A Recorder is single-use; make a new one for the next recording.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        device: str | int | None = None,
        max_seconds: float | None = None,
        on_finished: FinishedHook | None = None,
        block_seconds: float = 0.02,
        queue_seconds: float = 10.0,
        device_timeout: float = 3.0,
        poll_interval: float = 0.05,
    ) -> None:
        self._settings = settings
        self._device_query = settings.input_device if device is None else device
        self._sample_rate = settings.sample_rate
        self._channels = settings.channels
        limits = [s for s in (settings.max_record_seconds, max_seconds) if s]
        self._max_frames = int(min(limits) * self._sample_rate) if limits else None
        self._on_finished = on_finished
        self._block_frames = max(64, int(round(block_seconds * self._sample_rate)))
        # Ring sized in seconds of audio: how long the disk may stall before blocks are dropped.
        capacity = max(4, int(queue_seconds * self._sample_rate / self._block_frames))
        self._ring = BlockRing(capacity, self._block_frames, self._channels, dtype="int16")
        self._meter = LevelMeter(self._block_frames * self._channels)
        self.callback_timings = CallbackTimings()
        self._device_timeout_ns = int(device_timeout * 1e9)
        self._poll_interval = poll_interval

        self._control = threading.Lock()  # serialises start/pause/resume/stop callers; never used by the callback
        self._state = RecorderState.IDLE
        self._stop_requested = threading.Event()  # also wakes the writer early
        self._done = threading.Event()

        # Shared with the callback: each has one writer (noted), reads are plain attribute loads.
        self._paused = False  # control thread
        self._captured_frames = 0  # callback
        self._overflows = 0  # callback
        self._limit_reached = False  # callback
        self._last_callback_ns = 0  # callback
        self._stream_finished = False  # PortAudio's finished callback

        self._device: InputDevice | None = None
        self._paths: RecordingPaths | None = None
        self._title: str | None = None
        self._started_at: datetime | None = None
        self._sidecar: HeldSidecar | None = None
        self._writer: WavWriter | None = None
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._result: RecordingResult | None = None
        self._hook_error: Exception | None = None
        self._thread_failure: Exception | None = None
        self.writer_cpu_seconds = 0.0

    # -- what any thread may read at any moment ---------------------------------------------------------------------
    @property
    def state(self) -> RecorderState:
        return self._state

    @property
    def level(self) -> Level:
        return self._meter.level

    @property
    def elapsed(self) -> float:
        """Seconds of audio recorded so far (paused spans excluded)."""
        return self._captured_frames / self._sample_rate

    @property
    def overflows(self) -> int:
        return self._overflows

    @property
    def dropped_blocks(self) -> int:
        return self._ring.dropped_blocks

    @property
    def device(self) -> InputDevice | None:
        return self._device

    @property
    def path(self) -> Path | None:
        """Where the finished recording will be (while recording, the file is `<stem>.recording.wav`)."""
        return self._paths.final if self._paths else None

    @property
    def in_progress_path(self) -> Path | None:
        return self._paths.in_progress if self._paths else None

    @property
    def result(self) -> RecordingResult | None:
        return self._result

    @property
    def error(self) -> RecorderError | None:
        """Why the recording ended early, once it has ended (None while running or after a clean stop)."""
        return self._result.error if self._result else None

    # -- control --------------------------------------------------------------------------------------------------
    def start(self, path: Path | None = None, *, title: str | None = None) -> Path:
        """Open the device and begin capturing; returns the final path. Raises NoInputDevice / RecorderError."""
        with self._control:
            if self._state is not RecorderState.IDLE:
                raise RecorderError("this recorder has already been used; create a new Recorder for a new recording")
            self._device = devices.find_input_device(self._device_query)
            self._started_at = datetime.now(timezone.utc)
            self._paths = (RecordingPaths.for_final(Path(path)) if path is not None
                           else RecordingPaths.new_in(self._settings.audio_dir, self._started_at.astimezone()))
            self._title = title
            self._open_outputs()
            try:
                self._open_and_start_stream()
            except RecorderError:
                self._discard_outputs()
                raise
            self._state = RecorderState.RECORDING
            self._thread = threading.Thread(target=self._run_writer, name=f"recorder-writer-{self._paths.recording_id}")
            self._thread.start()
            return self._paths.final

    def pause(self) -> None:
        with self._control:
            if self._state is RecorderState.RECORDING:
                self._paused = True
                self._state = RecorderState.PAUSED

    def resume(self) -> None:
        with self._control:
            if self._state is RecorderState.PAUSED:
                self._paused = False
                self._state = RecorderState.RECORDING

    def request_stop(self) -> None:
        """Ask the recording to end and return at once (for the GUI thread, which must not wait): the writer
        finalises the file and then calls `on_finished`; call `stop()` after that to join the thread."""
        with self._control:
            if self._state is RecorderState.IDLE:
                raise RecorderError("the recorder was never started")
            self._stop_requested.set()

    def stop(self, timeout: float | None = None) -> RecordingResult:
        """End the recording (or collect one that ended by itself), wait for the file to be final, return it.

        The wait includes the `on_finished` hook (adding to the library hashes the file). Re-raises, in the
        caller's thread, an exception from that hook (the recording is then left for the recovery pass, so it is
        not lost) or a failure of the writer thread itself.
        """
        self.request_stop()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RecorderError(f"the recorder did not finish within {timeout} s")
        return self._outcome()

    def wait(self, timeout: float | None = None) -> RecordingResult | None:
        """Block until the recording ends by itself (maximum duration, error); None on timeout.

        Like `stop()`, re-raises an exception of the `on_finished` hook or of the writer thread.
        """
        if not self._done.wait(timeout):
            return None
        if self._thread is not None:
            self._thread.join()
        return self._outcome()

    # -- the PortAudio callback (audio thread: no locks, no I/O, no waiting) -----------------------------------------
    def _on_audio(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        start_ns = time.perf_counter_ns()
        self._last_callback_ns = start_ns
        if status.input_overflow:
            self._overflows += 1
        self._meter.update(indata)
        if not self._paused:
            take = frames
            if self._max_frames is not None:
                take = min(frames, self._max_frames - self._captured_frames)
            if take > 0 and self._ring.push(indata, take):
                self._captured_frames += take
            if self._max_frames is not None and self._captured_frames >= self._max_frames:
                self._limit_reached = True
        self.callback_timings.record(start_ns, time.perf_counter_ns())

    def _on_stream_finished(self) -> None:
        self._stream_finished = True

    # -- writer thread --------------------------------------------------------------------------------------------
    def _run_writer(self) -> None:
        cpu_start = time.thread_time()
        try:
            self._finish(*self._capture_until_end())
        except Exception as exc:  # a bug, not an expected failure: stop() re-raises it rather than lose it
            log.exception("recorder writer thread failed")
            self._thread_failure = exc
            self._close_stream_quietly()
        finally:
            self.writer_cpu_seconds = time.thread_time() - cpu_start
            self._done.set()

    def _capture_until_end(self) -> tuple[StopReason, RecorderError | None]:
        assert self._writer is not None
        try:
            while True:
                self._drain()
                reason = self._end_condition()
                if reason is not None:
                    break
                self._stop_requested.wait(self._poll_interval)
        except RecorderError as exc:  # from the file writer
            self._close_stream_quietly()
            return (StopReason.DISK_FULL if self._writer.disk_full else StopReason.WRITE_ERROR), exc
        close_problem = self._close_stream()
        try:
            self._drain()  # what arrived between the last drain and the stream's end
        except RecorderError as exc:
            return (StopReason.DISK_FULL if self._writer.disk_full else StopReason.WRITE_ERROR), exc
        if reason is StopReason.DEVICE_LOST:
            assert self._device is not None
            detail = f" ({close_problem})" if close_problem else ""
            return reason, RecorderError(
                f"the input device {self._device.name!r} stopped delivering audio{detail}; recording stopped after "
                f"{self.elapsed:.1f} s and the audio recorded so far is kept")
        if close_problem:
            log.warning("recording ended normally but %s", close_problem)
        return reason, None

    def _end_condition(self) -> StopReason | None:
        if self._limit_reached:
            return StopReason.MAX_DURATION
        if self._stop_requested.is_set():
            return StopReason.STOPPED
        # The finished callback fires when PortAudio ends the stream on its own (device error); a vanished sound
        # server can instead leave the stream "active" but silent-without-callbacks, hence the watchdog too.
        if self._stream_finished:
            return StopReason.DEVICE_LOST
        if time.perf_counter_ns() - self._last_callback_ns > self._device_timeout_ns:
            return StopReason.DEVICE_LOST
        return None

    def _drain(self) -> None:
        assert self._writer is not None
        while True:
            frames, slots = self._ring.peek()
            if not slots:
                return
            self._writer.write(frames)
            self._ring.release(slots)

    def _finish(self, reason: StopReason, error: RecorderError | None) -> None:
        assert self._writer is not None and self._paths is not None and self._sidecar is not None
        self._state = RecorderState.FINISHING
        if self._stream is not None:  # a write failure ends capture before the stream was closed
            self._close_stream_quietly()
        try:
            self._writer.close()
        except RecorderError as exc:
            error = error or exc
            if reason is StopReason.STOPPED or reason is StopReason.MAX_DURATION:
                reason = StopReason.DISK_FULL if self._writer.disk_full else StopReason.WRITE_ERROR
        if error is not None and reason in (StopReason.DISK_FULL, StopReason.WRITE_ERROR):
            # A failed write can leave the header claiming frames that never reached the disk.
            repair_wav_header(self._paths.in_progress)
        final = move_without_replacing(self._paths.in_progress, self._paths.final)
        frames = _frames_in(final)
        assert self._device is not None and self._started_at is not None
        self._result = RecordingResult(
            path=final, recording_id=self._paths.recording_id, title=self._title, started_at=self._started_at,
            frames=frames, sample_rate=self._sample_rate, channels=self._channels, device_name=self._device.name,
            stop_reason=reason, error=error, overflows=self._overflows, dropped_blocks=self._ring.dropped_blocks,
            dropped_frames=self._ring.dropped_frames)
        self._meter.reset()
        self._state = RecorderState.FINISHED
        if self._on_finished is not None:
            try:
                self._on_finished(self._result)
            except Exception as exc:  # re-raised by stop() in the caller's thread; the note stays for recovery
                log.exception("on_finished hook failed; the recording stays for the recovery pass")
                self._hook_error = exc
        self._sidecar.release(delete=self._hook_error is None)

    def _outcome(self) -> RecordingResult:
        if self._thread_failure is not None:
            raise RecorderError(f"the recorder failed: {self._thread_failure!r}") from self._thread_failure
        if self._hook_error is not None:
            raise self._hook_error
        assert self._result is not None
        return self._result

    # -- opening and closing --------------------------------------------------------------------------------------
    def _open_outputs(self) -> None:
        assert self._paths is not None and self._device is not None and self._started_at is not None
        try:
            make_private_dir(self._paths.final.parent)
        except OSError as exc:
            raise RecorderError(f"cannot create the folder for recordings {self._paths.final.parent}: "
                                f"{exc.strerror or exc}") from None
        info = new_sidecar_info(self._paths, self._title, self._started_at, self._sample_rate, self._channels,
                                self._device.name)
        self._sidecar = HeldSidecar(self._paths, info)  # the note first: a crash from here on is recoverable
        try:
            self._writer = WavWriter(self._paths.in_progress, self._sample_rate, self._channels)
        except RecorderError:
            self._sidecar.release(delete=True)
            raise

    def _discard_outputs(self) -> None:
        """Undo `_open_outputs` when the stream never started (nothing was recorded)."""
        assert self._writer is not None and self._sidecar is not None and self._paths is not None
        self._writer.close()
        self._paths.in_progress.unlink(missing_ok=True)
        self._sidecar.release(delete=True)

    def _open_and_start_stream(self) -> None:
        assert self._device is not None
        stream = devices.open_input_stream(
            self._device, samplerate=self._sample_rate, channels=self._channels, dtype="int16",
            blocksize=self._block_frames, latency="high", callback=self._on_audio,
            finished_callback=self._on_stream_finished)
        self._last_callback_ns = time.perf_counter_ns()  # the watchdog counts from here until the first block
        try:
            stream.start()
        except devices.portaudio_error_type() as exc:
            problem = devices.close_stream_reporting(stream)
            raise NoInputDevice(f"cannot start recording from {self._device.name!r}: {exc}"
                                + (f"; {problem}" if problem else "")) from None
        self._stream = stream

    def _close_stream(self) -> str | None:
        """Stop and close the stream; returns what went wrong (a lost device cannot be closed cleanly), if anything."""
        stream, self._stream = self._stream, None
        return None if stream is None else devices.close_stream_reporting(stream)

    def _close_stream_quietly(self) -> None:
        problem = self._close_stream()
        if problem:
            log.warning("%s", problem)


def _frames_in(path: Path) -> int:
    import soundfile

    return soundfile.info(str(path)).frames
