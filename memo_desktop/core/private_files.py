"""Folders and files only their owner can open, and files replaced atomically.

Everything the app keeps (the data dir with its audio, library database, config, secrets and service state, and the
config file in the user config dir) is private: folders 0700, files 0600, from the moment they exist, so voice memos
are never readable by other users of the machine, not even for an instant.

- `make_private_dir` creates folders (and missing parents) 0700.
- `create_private_file` / `open_private` create files 0600 before anything else (SQLite, libsndfile) writes them:
  SQLite gives its -wal and -shm files the database file's mode, libsndfile keeps the mode of a file it truncates.
- `atomic_write` / `atomic_write_text`: the one way to write a file by temp-and-rename. Readers see the old file or
  the new one, never half of one; the new file is private; it is on disk before it is visible (`durable`); the
  temporary file never outlives a failure; with `overwrite=False` an existing file is never replaced.
- `secure_tree` tightens a tree that an older version (or a copy) left with looser modes: once per process and
  folder, with one log line saying what changed.

Why no restrictive umask for the whole process: the umask is process-global state shared by every thread and
library in it, so it would also make private what the user *exports* on purpose (a transcript saved to Documents, a
downloaded copy), and a temporary change is not thread-safe. Modes are therefore set explicitly where the app
creates its own state. Only the embedded servers (redis-server, weed) run with umask 077, set for the child process
alone (`services.managed`): everything they write is the app's private state.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_OTHERS = 0o077  # group and other permission bits
_PREVIEW = 5  # paths named in the log line about a tightened tree

_secured: set[Path] = set()
_secured_lock = threading.Lock()


def make_private_dir(path: Path | str) -> Path:
    """Create `path` and any missing parents with mode 0700 (an existing folder is left as it is)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made by another thread or process meanwhile
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask; make it exact
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def open_private(path: Path | str, flags: int = os.O_RDWR) -> int:
    """Open `path` (created 0600 if missing, an existing file keeps its mode) and return the descriptor."""
    return os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)


def create_private_file(path: Path | str) -> bool:
    """Make sure `path` exists, created 0600 if missing (an existing file, e.g. a device, is left untouched).

    Returns whether this call created it."""
    try:
        os.close(open_private(path, os.O_WRONLY | os.O_EXCL))
    except FileExistsError:
        return False
    return True


class PendingFile:
    """The temporary file of an `atomic_write`: write it through `fd` or by name (`path`), even replace it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self._keep = False

    def keep_open(self) -> int:
        """Keep `fd` open after a successful commit (it then refers to the final file, with any flock on it; the
        caller closes it). After a failure the descriptor is closed all the same."""
        self._keep = True
        return self.fd


@contextmanager
def atomic_write(path: Path | str, *, mode: int = PRIVATE_FILE, durable: bool = True,
                 overwrite: bool = True) -> Iterator[PendingFile]:
    """Write `path` by temp-and-rename: yields the temporary file, which becomes `path` when the block succeeds.

    The temporary file is created in the same folder with `mode` before anything is written; whatever the block did
    with it (wrote it, truncated it by name, moved another file onto it), it gets `mode` again before it is renamed.
    `durable`: the file and the rename are fsynced, so after a crash `path` holds the old content or the complete
    new one (for files that matter; scratch files skip it). `overwrite=False`: an existing `path` is never replaced
    (FileExistsError). On any failure the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_native_id()}.partial")
    tmp.unlink(missing_ok=True)  # a leftover of a killed process that had our pid and thread id
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    pending = PendingFile(tmp, fd)
    committed = False
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode is filtered by the umask
        yield pending
        _seal(tmp, mode, durable)
        if overwrite:
            os.replace(tmp, path)
        else:
            rename_without_replacing(tmp, path)
        if durable:
            _fsync_dir(path.parent)
        committed = True
    finally:
        if not (committed and pending._keep):
            os.close(fd)
        if not committed:
            tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path | str, text: str, *, mode: int = PRIVATE_FILE, durable: bool = True) -> None:
    """`atomic_write` of a UTF-8 text."""
    with atomic_write(path, mode=mode, durable=durable) as pending, \
            open(pending.fd, "w", encoding="utf-8", closefd=False) as fh:
        fh.write(text)


def rename_without_replacing(source: Path | str, target: Path | str) -> None:
    """Rename `source` to `target`, or raise FileExistsError if `target` exists (no check-then-rename race)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        # a file system without hard links (FAT, some network mounts): the best a plain rename can do
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.rename(source, target)
        return
    os.unlink(source)


def secure_tree(root: Path | str) -> list[Path]:
    """Remove group and other access from `root` and everything under it, once per process and folder.

    Folders and regular files only (symlinks are not followed; sockets and devices are left alone); the owner's own
    bits are kept. Logs one line when something was tightened; returns what was (relative to `root`).
    """
    root = Path(root).absolute()
    with _secured_lock:
        if root in _secured:
            return []
        _secured.add(root)
    tightened: list[Path] = []
    refused: list[Path] = []
    for entry in _walk(root):
        try:
            info = entry.lstat()
            if (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)) and info.st_mode & _OTHERS:
                os.chmod(entry, stat.S_IMODE(info.st_mode) & ~_OTHERS)
                tightened.append(entry.relative_to(root))
        except FileNotFoundError:
            continue  # removed meanwhile (a job workspace, a temporary file)
        except PermissionError:
            refused.append(entry.relative_to(root))  # not ours (e.g. left by another user or by root)
    if tightened:
        log.warning("made %s private: other users could open %s; now only you can", root, _describe(tightened))
    if refused:
        log.warning("could not make %d entries in %s private (not owned by you): %s", len(refused), root,
                    ", ".join(str(p) for p in refused[:_PREVIEW]))
    return tightened


def _describe(entries: list[Path]) -> str:
    """'the folder itself and 3 entries in it (audio, audio/a.wav, b.wav)', naming at most a few."""
    inside = sorted(str(p) for p in entries if str(p) != ".")
    parts = ["the folder itself"] if len(inside) < len(entries) else []
    if inside:
        shown = ", ".join(inside[:_PREVIEW]) + (f" and {len(inside) - _PREVIEW} more" if len(inside) > _PREVIEW else "")
        parts.append(f"{len(inside)} {'entry' if len(inside) == 1 else 'entries'} in it ({shown})")
    return " and ".join(parts)


def _walk(root: Path) -> Iterator[Path]:
    if not root.is_dir() or root.is_symlink():
        return
    yield root
    for folder, dirs, files in os.walk(root, onerror=lambda exc: None):  # follows no symlinks
        base = Path(folder)
        for name in (*dirs, *files):
            yield base / name


def _seal(tmp: Path, mode: int, durable: bool) -> None:
    """Give the temporary file its final mode and, if `durable`, flush it to disk (whichever inode it now is)."""
    fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchmod(fd, mode)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return  # a platform or file system without directory descriptors: the rename is as durable as it gets
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "PendingFile", "atomic_write", "atomic_write_text", "create_private_file",
           "make_private_dir", "open_private", "rename_without_replacing", "secure_tree"]
