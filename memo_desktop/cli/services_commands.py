"""`memo-desktop services start | stop | status`: the embedded Redis and object store without the GUI.

`start` takes a pinned lease: the services keep running after the command exits (and while apps and workers come
and go) until `services stop`. Addresses are printed, secrets never: the object store's credentials stay in its
service dir. A service configured externally (MEMO_REDIS_URL, MEMO_S3_ENDPOINT) is reported, not managed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from memo_desktop.cli.common import app_context, print_json
from memo_desktop.core.context import AppContext
from memo_desktop.core.secrets import mask_url
from memo_desktop.core.services import ManagedService


@dataclass(frozen=True)
class _Service:
    key: str  # in --json output
    label: str  # in text output
    external_url: str  # "" when the embedded service is used
    service: ManagedService


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("services", help="start, stop or inspect the embedded Redis and object store")
    actions = parser.add_subparsers(dest="services_action", metavar="ACTION", required=True)
    for name, handler, help_text in (
        ("start", start, "start both (or keep them running) until `services stop`; prints their addresses"),
        ("stop", stop, "stop both, even while apps or workers use them"),
        ("status", status, "running, pid, address and users of each"),
    ):
        p = actions.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="print {redis: {...}, objectStore: {...}} as JSON")
        p.set_defaults(handler=handler)


def start(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        for entry in _services(ctx):
            if not entry.external_url:
                entry.service.acquire(pinned=True)
        return _report(ctx, args.json)


def stop(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        for entry in _services(ctx):
            if not entry.external_url:
                entry.service.stop()
        return _report(ctx, args.json)


def status(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        return _report(ctx, args.json)


def _services(ctx: AppContext) -> list[_Service]:
    settings = ctx.settings
    return [
        _Service("redis", "redis", mask_url(settings.redis_url), ctx.redis_server),
        _Service("objectStore", "object store", mask_url(settings.s3_endpoint), ctx.object_store_server),
    ]


def _describe(entry: _Service) -> dict[str, Any]:
    if entry.external_url:
        return {"mode": "external", "url": entry.external_url}
    return {"mode": "embedded", "dir": str(entry.service.root), **entry.service.status().as_dict()}


def _report(ctx: AppContext, as_json: bool) -> int:
    described = {entry.key: _describe(entry) for entry in _services(ctx)}
    if as_json:
        print_json(described)
        return 0
    for entry in _services(ctx):
        info = described[entry.key]
        if info["mode"] == "external":
            print(f"{entry.label}: external at {info['url']} (not managed here)")
        elif info["running"]:
            users = ", ".join(info["users"]) or "none"
            print(f"{entry.label}: running at {info['address']} (pid {info['pid']}; users: {users})")
        else:
            print(f"{entry.label}: stopped")
    return 0
