"""`memo-desktop services start|stop|status`: the embedded services without the GUI."""

from __future__ import annotations

import argparse

from memo_desktop.cli.common import mask_url, print_json, settings_from_args
from memo_desktop.core.context import AppContext


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("services", help="run the embedded Redis and object store without the GUI")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(handler=services)


def services(args: argparse.Namespace) -> int:
    ctx = AppContext(settings_from_args(args))
    embedded = {"redis": ctx.redis_server} if not ctx.settings.redis_url else {}
    if args.action == "start":
        for service in embedded.values():
            service.acquire(pinned=True)  # stays up until `services stop`
    elif args.action == "stop":
        for service in embedded.values():
            service.stop()
    status = {name: service.status().as_dict() for name, service in embedded.items()}
    if ctx.settings.redis_url:
        status["redis"] = {"name": "redis", "running": None, "external": mask_url(ctx.settings.redis_url)}
    if args.json:
        print_json(status)
    else:
        for name, info in status.items():
            where = info.get("external") or info.get("address") or "-"
            state = "external" if info.get("external") else ("running" if info["running"] else "stopped")
            print(f"{name:12} {state:8} {where}")
    return 0
