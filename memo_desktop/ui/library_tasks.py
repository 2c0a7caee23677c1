"""What the memo library widget runs on the background runner: plain functions of the context, no Qt. What a
person asks for in the library is wanted now: its jobs go ahead of automatic work (DESIGN: high priority)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence, TypeVar

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import LibraryError, MemoError
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.pipeline import AddResult, add_memo, delete_memo, queue_process
from memo_desktop.core.queueing.priorities import Priority

Item = TypeVar("Item")
Done = TypeVar("Done")


def list_memos(ctx: AppContext, search: str) -> tuple[Memo, ...]:
    return tuple(ctx.library.list(search=search or None))


def _each(items: Sequence[Item], do: Callable[[Item], Done],
          name: Callable[[Item], str]) -> tuple[tuple[Done, ...], tuple[str, ...]]:
    """`do` each item; one failure does not stop the others (its problem is reported by the item's name)."""
    done, problems = [], []
    for item in items:
        try:
            done.append(do(item))
        except MemoError as exc:
            problems.append(f"{name(item)}: {exc}")
    return tuple(done), tuple(problems)


def import_files(ctx: AppContext, paths: Sequence[Path]) -> tuple[tuple[AddResult, ...], tuple[str, ...]]:
    return _each(paths, lambda path: add_memo(ctx, path, priority=Priority.HIGH), lambda path: Path(path).name)


def process_memos(ctx: AppContext, memos: Sequence[Memo], operation: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Queue `operation` (analyze, compress or transcribe) for each memo; returns the job ids and the problems."""
    return _each(memos, lambda memo: queue_process(ctx, memo.id, operation, priority=Priority.HIGH),
                 lambda memo: f"'{memo.title}'")


def delete_memos(ctx: AppContext, memo_ids: Sequence[str]) -> tuple[str, ...]:
    """Delete each memo (its objects' deletion is queued first); returns the ids deleted."""

    def delete(memo_id: str) -> str:
        delete_memo(ctx, memo_id)
        return memo_id

    deleted, problems = _each(memo_ids, delete, lambda memo_id: memo_id)
    if problems:
        raise LibraryError("some memos were not deleted (they are kept): " + "; ".join(problems))
    return deleted


def download_link(ctx: AppContext, memo: Memo) -> str:
    if memo.upload_state is not UploadState.UPLOADED or not memo.object_key:
        raise LibraryError(f"'{memo.title}' is not uploaded yet ({memo.upload_state.value}); "
                           "a download link exists once the upload is done")
    return ctx.object_store.presigned_url(memo.object_key)
