"""What this installation is and where its parts are: a checkout or wheel in a Python environment, or a frozen
(PyInstaller) bundle. The one place that knows the difference, so nothing else special-cases the bundle.

    APP_ID                      the reverse-DNS application id (desktop file, metainfo, icon, Qt's desktop file name)
    is_frozen()                 running from the self-contained bundle?
    bundled_program(name)       a helper program the bundle ships in its bin/ dir (redis-server, weed), else None
    resource(name)              a file of the package's resources/ (desktop entry, metainfo, app icon)
    launch_command()            argv that starts this same installation (for .desktop files and service units)
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

APP_ID = "io.github.memo_desktop.MemoDesktop"
COMMAND = "memo-desktop"
BUNDLED_PROGRAMS_DIR = "bin"  # inside the bundle's data dir (sys._MEIPASS); the build spec puts them there


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def bundle_dir() -> Path | None:
    """The bundle's data dir (PyInstaller's `_internal/`), None outside a bundle."""
    return Path(sys._MEIPASS) if is_frozen() else None  # type: ignore[attr-defined]


def bundled_program(name: str) -> str | None:
    """The path of a helper program shipped in the bundle, if this is a bundle that ships it."""
    root = bundle_dir()
    if root is None:
        return None
    path = root / BUNDLED_PROGRAMS_DIR / name
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def resource(name: str) -> Traversable:
    """A file of the package's `resources/` (desktop entry, metainfo, icon); works in a wheel and in the bundle."""
    return resources.files("memo_desktop") / "resources" / name


def launch_command() -> list[str]:
    """The command that starts this installation (not whichever `memo-desktop` comes first on PATH).

    The bundle's executable; else the console script this process was started as, or the one installed beside this
    interpreter (a venv's bin/); else the interpreter with `-m memo_desktop`."""
    if is_frozen():
        return [sys.executable]
    started_as = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started_as is not None and started_as.name == COMMAND and started_as.is_file():
        return [str(started_as.absolute())]
    beside = Path(sys.executable).parent / COMMAND
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    return [sys.executable, "-m", "memo_desktop"]
