"""`memo-desktop upload FILE`, `memos` and `delete`: the memo library from the command line."""

from __future__ import annotations

import argparse
import datetime as dt

from memo_desktop.cli.common import app_context, print_listing, queue_pending_uploads
from memo_desktop.core.pipeline import delete_memo
from memo_desktop.core.pipeline.memos import import_or_requeue
from memo_desktop.core.queueing.priorities import PRIORITY_NAMES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("upload", help="import an audio file as a memo and queue its upload (prints the job id)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--memo", metavar="ID", help="the memo id to use (an existing memo: queue its upload again)")
    p.add_argument("--title", help="the memo's title (default: from the file name)")
    p.add_argument("--priority", choices=PRIORITY_NAMES, default="normal", help="of the upload job (default normal)")
    p.set_defaults(handler=upload)

    p = sub.add_parser("memos", help="list the memo library with upload states")
    p.add_argument("--json", action="store_true", help="print a JSON list of memos")
    p.add_argument("--search", help="only memos whose title or transcript contains these words")
    p.set_defaults(handler=list_memos)

    p = sub.add_parser("delete", help="delete a memo here and queue the deletion of its uploaded objects")
    p.add_argument("memo_id", metavar="MEMO_ID")
    p.set_defaults(handler=delete)


def upload(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        result = import_or_requeue(ctx, args.file, args.memo, args.title, args.priority)
        if result.job_id is not None:
            queue_pending_uploads(ctx)
            print(result.job_id)
        print(f"memo {result.memo.id}: {result.message}")
        return 0


def list_memos(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        memos = ctx.library.list(search=args.search)
    return print_listing(args.json, memos, lambda memo: memo.as_dict(), _memo_line, "no memos")


def _memo_line(memo) -> str:  # noqa: ANN001 - Memo
    when = dt.datetime.fromtimestamp(memo.created_at).strftime("%Y-%m-%d %H:%M")
    state = memo.upload_state.value + (f" ({memo.upload_error})" if memo.upload_error else "")
    flag = (" [recovered]" if memo.recovered else "") + ("" if memo.audio_local else " [audio in the store only]")
    return f"{memo.id}  {when}  {memo.duration:7.1f}s  {state:10}  {memo.title}{flag}\n    {memo.audio_path}"


def delete(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        job_id = delete_memo(ctx, args.memo_id)
    print(f"deleted memo {args.memo_id}" + (f"; its objects are deleted by job {job_id}" if job_id else ""))
    return 0
