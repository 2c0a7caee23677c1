"""A WAV file that stays readable if the process dies mid-recording.

A WAV header holds the data size, which a normal writer fills in only when it closes the file: a SIGKILLed
recording then says "0 frames", which libsndfile tolerates but sox and Python's `wave` do not. libsndfile can
rewrite the header after every write (SFC_SET_UPDATE_HEADER_AUTO); soundfile does not wrap that command, so it is
sent through soundfile's own cffi handle. The cost is one small seek+write per write call, and the writer thread
calls `write` a few times a second, not per audio block. Should a libsndfile build refuse the command, the
header is updated explicitly (SFC_UPDATE_HEADER_NOW) about once a second instead, and the recovery pass repairs
the rest.

Page-cache data survives a killed process but not a power cut, hence `sync()` (fsync) every few seconds.
Write errors are translated once, here: a full disk is told apart from other I/O errors.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import numpy as np
import soundfile

from memo_desktop.core.errors import RecorderError
from memo_desktop.core.private_files import create_private_file

# libsndfile command numbers (sndfile.h); soundfile's cdef does not declare them.
SFC_UPDATE_HEADER_NOW = 0x1060
SFC_SET_UPDATE_HEADER_AUTO = 0x1061
SUBTYPE = "PCM_16"
# libsndfile/soundfile misbehave on single huge writes (a segfault at ~2.4 M frames for OGG): stay far below.
MAX_FRAMES_PER_WRITE = 1 << 20
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class WavWriter:
    def __init__(self, path: Path, sample_rate: int, channels: int, *, sync_interval: float = 5.0,
                 manual_header_interval: float = 1.0) -> None:
        self.path = path
        self.frames_written = 0
        self.disk_full = False
        self._sync_interval = sync_interval
        self._manual_header_interval = manual_header_interval
        try:
            created = create_private_file(path)  # 0600 before any sample is written: libsndfile keeps its mode
        except OSError as exc:
            raise self._create_error(exc.errno, exc.strerror or str(exc)) from None
        try:
            self._file = soundfile.SoundFile(str(path), mode="w", samplerate=sample_rate, channels=channels,
                                             format="WAV", subtype=SUBTYPE)
        except soundfile.LibsndfileError as exc:
            # libsndfile only says "System error."; errno, read right after the failed call, says which.
            os_errno = soundfile._ffi.errno
            if created:
                path.unlink(missing_ok=True)
            raise self._create_error(os_errno, os.strerror(os_errno) if os_errno else exc.error_string) from None
        self._header_auto = self._command(SFC_SET_UPDATE_HEADER_AUTO, soundfile._snd.SF_TRUE) == soundfile._snd.SF_TRUE
        now = time.monotonic()
        self._last_sync = now
        self._last_header_update = now

    def _create_error(self, os_errno: int | None, reason: str) -> RecorderError:
        self.disk_full = os_errno in _DISK_FULL_ERRNOS
        if self.disk_full:
            return RecorderError(f"the disk is full: cannot create the recording file {self.path}")
        return RecorderError(f"cannot create the recording file {self.path}: {reason}")

    @property
    def header_auto_update(self) -> bool:
        return self._header_auto

    def write(self, frames: np.ndarray) -> None:
        """Append int16 frames (shape (n, channels)); raises RecorderError, with `disk_full` set if that was why."""
        for start in range(0, len(frames), MAX_FRAMES_PER_WRITE):
            chunk = frames[start : start + MAX_FRAMES_PER_WRITE]
            try:
                self._file.write(chunk)
            except soundfile.LibsndfileError as exc:
                raise self._write_error(exc) from None
            self.frames_written += len(chunk)
        now = time.monotonic()
        if not self._header_auto and now - self._last_header_update >= self._manual_header_interval:
            self._command(SFC_UPDATE_HEADER_NOW, 0)
            self._last_header_update = now
        if now - self._last_sync >= self._sync_interval:
            self.sync()

    def sync(self) -> None:
        """fsync (soundfile's flush is libsndfile's sf_write_sync)."""
        self._file.flush()
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Write the final header and close; a failure here is reported, the samples already written stay."""
        try:
            self._file.close()
        except soundfile.LibsndfileError as exc:
            raise self._write_error(exc) from None

    def _command(self, command: int, value: int) -> int:
        return int(soundfile._snd.sf_command(self._file._file, command, soundfile._ffi.NULL, value))

    def _write_error(self, exc: soundfile.LibsndfileError) -> RecorderError:
        # errno right after the failed call is the precise cause; libsndfile's own text ("System error : No space
        # left on device.") is the fallback and the message shown to the user.
        os_errno = soundfile._ffi.errno
        detail = exc.error_string
        if self._file._file is not None:
            detail = soundfile._ffi.string(soundfile._snd.sf_strerror(self._file._file)).decode("utf-8", "replace")
        self.disk_full = os_errno in _DISK_FULL_ERRNOS or _is_disk_full(detail)
        seconds = self.frames_written / self._file.samplerate
        if self.disk_full:
            return RecorderError(f"the disk is full: recording stopped after {seconds:.1f} s; "
                                 f"the audio recorded so far is kept in {self.path.name}")
        return RecorderError(f"cannot write the recording file {self.path}: {detail} "
                             f"(the {seconds:.1f} s written so far are kept)")


def _is_disk_full(message: str) -> bool:
    return "No space left" in message or "Disk quota exceeded" in message
