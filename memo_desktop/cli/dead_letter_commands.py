"""`memo-desktop dlq list | requeue | purge`: the dead-letter queue (jobs that failed for good, kept with their
reason until requeued or purged)."""

from __future__ import annotations

import argparse
import datetime as dt

from memo_desktop.cli.common import app_context, print_json
from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.contract import optional_queue
from memo_desktop.core.queueing import dead_letters


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dlq", help="the dead-letter queue: list, requeue or purge jobs that failed for good")
    actions = parser.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)

    p = actions.add_parser("list", help="dead letters, newest first")
    p.add_argument("--queue", metavar="Q", help="only this queue's (e.g. file-process; file-upload is this device's)")
    p.add_argument("--json", action="store_true", help="print {total, offset, deadLetters: [...]} as JSON")
    p.add_argument("--limit", type=_count, default=50, help="how many (default 50)")
    p.add_argument("--offset", type=_count, default=0, help="skip this many first")
    p.set_defaults(handler=list_dead)

    p = actions.add_parser("requeue", help="run dead letters again with fresh attempts")
    p.add_argument("job_id", metavar="ID", nargs="?")
    p.add_argument("--all", action="store_true", help="every dead letter (of --queue)")
    p.add_argument("--queue", metavar="Q", help="with --all: only this queue's")
    p.set_defaults(handler=requeue_dead, dlq_parser=p)

    p = actions.add_parser("purge", help="forget dead letters for good")
    p.add_argument("job_id", metavar="ID", nargs="?")
    p.add_argument("--all", action="store_true", help="every dead letter (of --queue)")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="only those that died more than DAYS ago")
    p.add_argument("--queue", metavar="Q", help="only this queue's")
    p.set_defaults(handler=purge_dead, dlq_parser=p)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def resolve_queue(ctx: AppContext, name: str | None) -> str | None:
    return optional_queue(name, ctx.settings.device)


def _one_or_all(args: argparse.Namespace, bulk: bool) -> None:
    if bool(args.job_id) == bulk:
        args.dlq_parser.error("give one dead letter's ID, or --all" +
                              (" / --older-than DAYS" if hasattr(args, "older_than") else ""))
    if args.job_id and args.queue:
        args.dlq_parser.error("--queue goes with --all, not with an ID")


def list_dead(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        page = dead_letters.list_page(ctx.redis, resolve_queue(ctx, args.queue), args.offset, args.limit)
    if args.json:
        print_json({"total": page.total, "offset": page.offset,
                    "deadLetters": [letter.as_dict() for letter in page.entries]})
        return 0
    for letter in page.entries:
        when = dt.datetime.fromtimestamp(letter.failed_at).strftime("%Y-%m-%d %H:%M:%S")
        owner = f" {letter.user}" if letter.user else ""
        print(f"{letter.job_id}  {letter.queue} ({letter.priority}{owner})  {when}  "
              f"after {letter.attempts_made} attempt(s)\n    {letter.reason}")
    shown = f"{page.offset + 1}-{page.offset + len(page.entries)} of " if page.entries else ""
    print(f"{shown}{page.total} dead letter(s)" if page.total else "no dead letters")
    return 0


def requeue_dead(args: argparse.Namespace) -> int:
    _one_or_all(args, args.all)
    with app_context(args) as ctx:
        if args.all:
            count = ctx.jobs.requeue_dead_letters(resolve_queue(ctx, args.queue))
            print(f"requeued {count} dead letter(s)")
        elif ctx.jobs.requeue_dead_letter(args.job_id):
            print(f"requeued {args.job_id} with fresh attempts")
        else:
            print(f"{args.job_id} was waiting or running already; it left the dead-letter queue")
    return 0


def purge_dead(args: argparse.Namespace) -> int:
    bulk = args.all or args.older_than is not None
    _one_or_all(args, bulk)
    if args.older_than is not None and args.older_than < 0:
        args.dlq_parser.error("--older-than must be 0 days or more")
    with app_context(args) as ctx:
        if bulk:
            count = dead_letters.purge(ctx.redis, resolve_queue(ctx, args.queue), args.older_than)
            print(f"purged {count} dead letter(s)")
            return 0
        dead_letters.purge_one(ctx.redis, args.job_id)
    print(f"purged {args.job_id}")
    return 0
