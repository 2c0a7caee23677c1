"""Where a recording lives while it is being made, and the small JSON note that lets a crash be recovered.

A recording in progress is `<dir>/<id>.recording.wav` next to `<dir>/<id>.recording.json` (title, start time,
format, owner pid). On a clean stop the WAV is renamed to `<dir>/<id>.wav` and the note is deleted once the
recording has been handed over (added to the library). Whatever a crash leaves behind, the recovery pass finds by
its note.

The owner holds an exclusive advisory lock (flock) on the note for the whole recording, so a recovery pass in
another process (or another window) never "recovers" a recording that is still going. The kernel drops the lock
when its holder dies, however it dies. Where flock does not exist (Windows) only this process's own recordings
count as in use: a known gap until the Windows build gets a real lock.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from memo_desktop.core.errors import RecorderError
from memo_desktop.core.ids import random_suffix
from memo_desktop.core.private_files import atomic_write, rename_without_replacing

IN_PROGRESS_SUFFIX = ".recording.wav"
SIDECAR_SUFFIX = ".recording.json"


@dataclass(frozen=True)
class RecordingPaths:
    final: Path
    in_progress: Path
    sidecar: Path

    @classmethod
    def for_final(cls, final: Path) -> RecordingPaths:
        stem = final.with_suffix("")
        return cls(final=final, in_progress=Path(f"{stem}{IN_PROGRESS_SUFFIX}"),
                   sidecar=Path(f"{stem}{SIDECAR_SUFFIX}"))

    @classmethod
    def new_in(cls, audio_dir: Path, now: datetime) -> RecordingPaths:
        """A fresh, unique name: sortable by time, with a random tail so two recorders never collide."""
        recording_id = f"rec-{now.strftime('%Y%m%d-%H%M%S')}-{random_suffix()}"
        return cls.for_final(audio_dir / f"{recording_id}.wav")

    @classmethod
    def from_sidecar(cls, sidecar: Path, final_name: str | None = None) -> RecordingPaths:
        stem = sidecar.name[: -len(SIDECAR_SUFFIX)]
        return cls.for_final(sidecar.parent / (final_name or f"{stem}.wav"))

    @property
    def recording_id(self) -> str:
        return self.final.stem


@dataclass(frozen=True)
class SidecarInfo:
    recording_id: str
    final_name: str
    title: str | None
    started_at: str  # ISO 8601, UTC
    sample_rate: int
    channels: int
    device_name: str
    pid: int
    host: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SidecarInfo:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)


class HeldSidecar:
    """The note of a recording in progress, written atomically and locked until `release()`."""

    def __init__(self, paths: RecordingPaths, info: SidecarInfo) -> None:
        self.paths = paths
        self.info = info
        data = json.dumps(asdict(info), indent=1).encode("utf-8")
        # Unbuffered writes: on a full disk the failure surfaces here, not later in a buffered close().
        try:
            with atomic_write(paths.sidecar) as pending:
                _lock(pending.fd)  # locked before it is visible: a recovery pass can never win the race
                view = memoryview(data)
                while view:
                    view = view[os.write(pending.fd, view):]
                fd = pending.keep_open()  # the lock belongs to the inode and moves with it to the final name
        except OSError as exc:
            raise RecorderError(f"cannot write the recording note {paths.sidecar}: {exc.strerror or exc}") from None
        self._fd: int | None = fd

    def release(self, delete: bool) -> None:
        """Unlock; with `delete`, remove the note (the recording has been handed over and needs no recovery)."""
        if delete:
            self.paths.sidecar.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def move_without_replacing(source: Path, target: Path, tag: str = "") -> Path:
    """Rename `source` to `target`, or to `<stem>-<tag><n><suffix>` when that is taken: a finished or recovered
    take never replaces another recording. Returns the name it got."""
    candidate, n = target, 1
    while True:
        try:
            rename_without_replacing(source, candidate)  # no check-then-rename race with another recorder
        except FileExistsError:
            candidate = target.with_name(f"{target.stem}-{tag}{n}{target.suffix}")
            n += 1
        else:
            return candidate


def new_sidecar_info(paths: RecordingPaths, title: str | None, started: datetime, sample_rate: int,
                     channels: int, device_name: str) -> SidecarInfo:
    return SidecarInfo(recording_id=paths.recording_id, final_name=paths.final.name, title=title,
                       started_at=started.astimezone(timezone.utc).isoformat(), sample_rate=sample_rate,
                       channels=channels, device_name=device_name, pid=os.getpid(), host=socket.gethostname())


def read_sidecar(path: Path) -> SidecarInfo | None:
    """The note's contents, or None if it is unreadable (a crash while it was first written)."""
    try:
        return SidecarInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def is_in_use(path: Path) -> bool:
    """True while a live recorder holds this note (its lock, or its pid where there is no flock)."""
    if fcntl is not None:
        try:
            with open(path, "rb") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                return False
        except FileNotFoundError:
            return False
    info = read_sidecar(path)
    return info is not None and info.host == socket.gethostname() and info.pid == os.getpid()


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

