"""`memo-desktop schedule add | list | remove | run`: this device's schedules (cron, local time).

Schedules belong to the device whose library they act on (the `device` setting); its GUI, headless workers and
`serve` run them, each tick once (see `core.queueing.schedules`). `run` runs one now, in this process.
"""

from __future__ import annotations

import argparse
import datetime as dt

from memo_desktop.cli.common import app_context, print_json
from memo_desktop.core.pipeline.scheduled_actions import device_schedules, run_now
from memo_desktop.core.queueing.schedules import ACTION_KINDS, ScheduleRun


def register(sub: argparse._SubParsersAction) -> None:
    actions_help = "; ".join(f"{k.name}{':DAYS' if k.takes_days else ''}: {k.description}" for k in ACTION_KINDS)
    parser = sub.add_parser("schedule", help="run actions on this machine's library at cron times (local time)")
    actions = parser.add_subparsers(dest="schedule_action", metavar="ACTION", required=True)

    p = actions.add_parser("add", help="add a schedule", description=f"Actions: {actions_help}.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--cron", required=True, metavar='"m h dom mon dow"',
                   help="when, in local time (crontab syntax; an optional sixth field is seconds)")
    p.add_argument("--action", required=True, metavar="ACTION", help="what to do (see above)")
    p.add_argument("--json", action="store_true", help="print the schedule as JSON")
    p.set_defaults(handler=add_schedule)

    p = actions.add_parser("list", help="this device's schedules with their next and last runs")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(handler=list_schedules)

    p = actions.add_parser("remove", help="remove a schedule (and its run history)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=remove_schedule)

    p = actions.add_parser("run", help="run a schedule's action now, here (recorded like a scheduled run)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.set_defaults(handler=run_schedule_now)


def _local(moment: float | None) -> str:
    return dt.datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "never"


def _describe(run: ScheduleRun) -> str:
    return f"{_local(run.started_at)} ({run.trigger}): {run.summary()}"


def add_schedule(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        store = device_schedules(ctx)
        schedule = store.add(args.name, args.cron, args.action)
        status = store.status(schedule.name)
    if args.json:
        print_json(status.as_dict())
    else:
        print(f"schedule {schedule.name}: {schedule.action} at '{schedule.cron.expression}' on {schedule.device}; "
              f"next run {_local(status.next_run)}")
    return 0


def list_schedules(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        statuses = device_schedules(ctx).statuses()
        device = ctx.settings.device
    if args.json:
        print_json([status.as_dict() for status in statuses])
        return 0
    if not statuses:
        print(f"no schedules on device {device}")
    for status in statuses:
        s = status.schedule
        last = _describe(status.last_run) if status.last_run else "never"
        print(f"{s.name}  '{s.cron.expression}'  {s.action}\n    next {_local(status.next_run)}; last {last}")
        for problem in (status.last_run.errors if status.last_run else ())[:3]:
            print(f"      {problem}")
    return 0


def remove_schedule(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        device_schedules(ctx).remove(args.name)
    print(f"removed schedule {args.name}")
    return 0


def run_schedule_now(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        run = run_now(ctx, args.name)
    if args.json:
        print_json(run.as_dict())
    else:
        print(f"schedule {run.schedule}: " + _describe(run))
        for job_id in run.enqueued[:20]:
            print(f"  queued {job_id}")
        for problem in run.errors:
            print(f"  {problem}")
    return 0
