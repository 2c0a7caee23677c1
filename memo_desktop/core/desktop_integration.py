"""Desktop integration: the desktop entry, the icon and the AppStream metainfo, installed where the user's desktop
finds them (the XDG data dir: `$XDG_DATA_HOME`, else `~/.local/share`), and removed again.

    install(data_home=None, command=None) -> [paths written]
    uninstall(data_home=None) -> [paths removed]

The files come from the package's `resources/` (a link to the repository's top-level `resources/`, followed when
the wheel and the bundle are built, so they ship the same files). The desktop entry's `Exec`
and `TryExec` are rewritten to start this very installation (`installation.launch_command()`), quoted as the
Desktop Entry Specification asks. No Qt here: `memo-desktop install-desktop` runs on machines without a display.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

import platformdirs.unix

from memo_desktop.core.errors import DesktopIntegrationError
from memo_desktop.core.installation import APP_ID, launch_command, resource
from memo_desktop.core.private_files import atomic_write


@dataclass(frozen=True)
class DesktopFile:
    resource: str  # name in the package's resources/
    target: PurePosixPath  # where it goes, relative to the XDG data dir


DESKTOP_ENTRY = DesktopFile(f"{APP_ID}.desktop", PurePosixPath("applications", f"{APP_ID}.desktop"))
FILES = (
    DESKTOP_ENTRY,
    DesktopFile(f"{APP_ID}.svg", PurePosixPath("icons", "hicolor", "scalable", "apps", f"{APP_ID}.svg")),
    DesktopFile(f"{APP_ID}.metainfo.xml", PurePosixPath("metainfo", f"{APP_ID}.metainfo.xml")),
)

# Desktop Entry Specification, "The Exec key": an argument holding one of these must be quoted; inside the quotes
# these four are escaped with a backslash. Then the value as a whole is a `string`, whose backslashes are escaped
# once more, and a literal % is written %% (field codes).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = set('"`$\\')


def data_home() -> Path:
    """The user's XDG data dir (`$XDG_DATA_HOME` or `~/.local/share`)."""
    return platformdirs.unix.Unix().user_data_path


def exec_value(argv: Sequence[str]) -> str:
    """argv as the value of a desktop entry's Exec key."""
    quoted = []
    for arg in argv:
        if any(ch in _RESERVED for ch in arg) or not arg:
            arg = '"' + "".join("\\" + ch if ch in _ESCAPED_IN_QUOTES else ch for ch in arg) + '"'
        quoted.append(arg.replace("\\", "\\\\").replace("%", "%%"))
    return " ".join(quoted)


def _string_value(text: str) -> str:
    """A value of type `string` (TryExec: a plain path, not quoted like Exec)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def desktop_entry(argv: Sequence[str]) -> str:
    """The packaged desktop entry with Exec (and TryExec) starting `argv`."""
    lines = []
    for line in resource(DESKTOP_ENTRY.resource).read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            lines.append("Exec=" + exec_value(argv))
            if Path(argv[0]).is_absolute():  # lets the desktop hide the entry once the program is gone
                lines.append("TryExec=" + _string_value(argv[0]))
        elif not line.startswith("TryExec="):
            lines.append(line)
    return "\n".join(lines) + "\n"


def install(home: Path | None = None, command: Sequence[str] | None = None) -> list[Path]:
    """Write the desktop entry, icon and metainfo into the XDG data dir; returns the paths written."""
    home = home or data_home()
    argv = list(command or launch_command())
    written = []
    for entry in FILES:
        if entry is DESKTOP_ENTRY:
            content = desktop_entry(argv).encode("utf-8")
        else:
            content = resource(entry.resource).read_bytes()
        path = home / entry.target
        _write_atomically(path, content)
        written.append(path)
    return written


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what `install` wrote (and the directories that are left empty); returns the paths removed."""
    home = home or data_home()
    removed = []
    for entry in FILES:
        path = home / entry.target
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DesktopIntegrationError(f"cannot remove {path}: {exc.strerror}") from None
        removed.append(path)
        _remove_empty_parents(path.parent, home)
    return removed


def _write_atomically(path: Path, content: bytes) -> None:
    """Desktop files are meant to be read by the desktop: 0644, unlike the app's own state."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, mode=0o644, durable=False) as pending, \
                open(pending.fd, "wb", closefd=False) as fh:
            fh.write(content)
    except OSError as exc:
        raise DesktopIntegrationError(f"cannot write {path}: {exc.strerror}") from None


def _remove_empty_parents(directory: Path, home: Path) -> None:
    while directory != home and home in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty (other applications' files), or not ours to remove
            return
        directory = directory.parent
