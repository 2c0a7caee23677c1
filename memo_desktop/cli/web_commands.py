"""`memo-desktop serve` (the web dashboard, HTTP API and /metrics) and `webhooks add/list/remove/test`."""

from __future__ import annotations

import argparse
import sys

from memo_desktop.cli.common import app_context, print_json, print_listing, settings_from_args
from memo_desktop.cli.queue_commands import _WorkerListener, graceful_stop_on_signals
from memo_desktop.core.errors import ConfigError
from memo_desktop.core.runtime import Runtime, RuntimePlan
from memo_desktop.core.webhooks.registry import EVENT_TYPES, WebhookRegistry  # no HTTP client imported here

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the web dashboard, HTTP API and /metrics (SIGTERM/SIGINT: stop, exit 0)")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1; any other needs "
                                                        "MEMO_HTTP_TOKEN set)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default 3000)")
    p.set_defaults(handler=serve)

    p = sub.add_parser("webhooks", help="webhooks: signed POSTs on job and alert events")
    actions = p.add_subparsers(dest="webhooks_action", metavar="ACTION", required=True)
    a = actions.add_parser("add", help="add a webhook homed on this machine; prints its id and secret")
    a.add_argument("url", metavar="URL")
    a.add_argument("--events", default=",".join(EVENT_TYPES), help=f"comma-separated (default: {','.join(EVENT_TYPES)})")
    a.add_argument("--secret", help="whsec_... to use instead of a generated one; '-' reads it from stdin (a value on "
                                    "the command line is visible to other users of this machine)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=add_webhook)
    a = actions.add_parser("list", help="every webhook on this Redis")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=list_webhooks)
    a = actions.add_parser("remove", help="remove a webhook (and its secret, when homed here)")
    a.add_argument("webhook_id", metavar="ID")
    a.set_defaults(handler=remove_webhook)
    a = actions.add_parser("test", help="send a signed webhook.test delivery now (from its home machine)")
    a.add_argument("webhook_id", metavar="ID")
    a.set_defaults(handler=test_webhook)


def http_address(text: str) -> tuple[str, int]:
    """`worker --http HOST:PORT` (an IPv6 host in brackets)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"--http expects HOST:PORT (e.g. 127.0.0.1:3000), got {text!r}")
    return host.strip("[]"), int(port)


def serve(args: argparse.Namespace) -> int:
    from memo_desktop.core.operations import operations_parts
    from memo_desktop.core.pipeline.schedule_ticker import schedule_ticker_part
    from memo_desktop.web.server import http_server_of, web_parts  # the web stack only for the commands using it

    stop_requested = graceful_stop_on_signals()
    parts, live = web_parts(args.host, args.port)
    # serve opens this machine's library: it runs its schedules too (each tick once, whichever process claims it)
    plan = RuntimePlan(parts=parts, redis_parts=(*live, *operations_parts(), schedule_ticker_part), needs_store=True,
                       opens_library=True)
    listener = _WorkerListener()
    runtime = Runtime(settings_from_args(args), plan, listener)
    report = runtime.start()
    try:
        server = http_server_of(runtime)
        assert server is not None
        # with the token only on a terminal: a service's stdout ends up in a journal
        print(f"dashboard: {server.url(with_token=sys.stdout.isatty())}", flush=True)
        for problem in report.problems:  # what it waits for (the page says so too); later changes: the listener's
            print(f"memo-desktop serve: {problem}; waiting for it", file=sys.stderr, flush=True)
        listener.started = True
        runtime.wait(stop_requested)
    finally:
        runtime.stop()
    if runtime.failure is not None:
        raise runtime.failure
    return 0


def _registry(ctx) -> WebhookRegistry:  # noqa: ANN001 - AppContext
    return WebhookRegistry(ctx.redis, ctx.settings)


def add_webhook(args: argparse.Namespace) -> int:
    secret = sys.stdin.readline().strip() if args.secret == "-" else args.secret
    with app_context(args) as ctx:
        registry = _registry(ctx)
        hook, secret = registry.add(args.url, args.events.split(","), secret or None)
        where = registry.secret_location(hook)
    if args.json:
        print_json({**hook.as_dict(), "secret": secret, "secretLocation": where})
    else:
        print(f"{hook.id}\nsecret: {secret}")
        print(f"webhook {hook.id}: {hook.as_dict()['url']} on {', '.join(hook.events)}; homed on {hook.home}, "
              f"its secret kept in {where}", file=sys.stderr)
    return 0


def list_webhooks(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        hooks = _registry(ctx).list()
    return print_listing(args.json, hooks, lambda hook: hook.as_dict(), lambda hook: (
        f"{hook.id}  {hook.as_dict()['url']}  {','.join(hook.events)}  home {hook.home}"), "no webhooks")


def remove_webhook(args: argparse.Namespace) -> int:
    with app_context(args) as ctx:
        _registry(ctx).remove(args.webhook_id)
    print(f"removed webhook {args.webhook_id}")
    return 0


def test_webhook(args: argparse.Namespace) -> int:
    from memo_desktop.core.webhooks.delivery import deliver, test_payload

    with app_context(args) as ctx:
        registry = _registry(ctx)
        result = deliver(registry, test_payload(registry.get(args.webhook_id)))
    print(f"delivered: HTTP {result.status} in {result.seconds:.2f} s")
    return 0
