"""Per-job scratch directories: created under the data dir, removed when the job ends, whatever happens.

They live in `<data dir>/tmp`, not the system temp dir: a 2 h WAV is ~700 MB and /tmp is often RAM (tmpfs). A
process killed mid-job cannot clean up, so each new workspace first removes those of processes that are gone.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from memo_desktop.core.config import Settings
from memo_desktop.core.private_files import make_private_dir

log = logging.getLogger(__name__)

PREFIX = "process-"
_OWNER = re.compile(rf"^{PREFIX}(\d+)-")


def workspace_root(settings: Settings) -> Path:
    return settings.data_dir / "tmp"


@contextmanager
def job_workspace(settings: Settings) -> Iterator[Path]:
    """A fresh private directory for one job, removed on exit (also when the job fails)."""
    root = workspace_root(settings)
    make_private_dir(root)
    remove_stale_workspaces(root)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-", dir=root) as path:
        yield Path(path)


def remove_stale_workspaces(root: Path) -> int:
    """Remove the workspaces of processes that no longer run; returns how many."""
    removed = 0
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return 0
    for entry in entries:
        match = _OWNER.match(entry.name)
        if match and entry.is_dir() and not _process_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)  # another worker may be removing it at the same moment
            removed += 1
    if removed:
        log.info("removed %d workspace(s) left by stopped workers in %s", removed, root)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, and not ours to judge
        return True
    return True
