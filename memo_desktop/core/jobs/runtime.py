"""What job functions run against: the process's AppContext (settings, Redis, library, object store).

A worker pool sets it when it starts; a job function asks for it with `current_context()`. One per process: every
worker thread of a process shares the same services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memo_desktop.core.errors import MemoError

if TYPE_CHECKING:
    from memo_desktop.core.context import AppContext

_context: AppContext | None = None


def set_context(context: AppContext | None) -> None:
    global _context
    _context = context


def current_context() -> AppContext:
    if _context is None:
        raise MemoError("job functions need a running worker pool (no app context is set)")
    return _context
