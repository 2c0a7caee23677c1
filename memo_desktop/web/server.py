"""The HTTP server as runtime parts: uvicorn in a thread the runtime owns, started with the runtime (whether Redis
answers or not: the page then says Redis is down), and its live feed, started once Redis answers (it listens on the
runtime's event hub).

    parts, redis_parts = web_parts("127.0.0.1", 3000)
    RuntimePlan(..., parts=(*parts,), redis_parts=(*redis_parts, ...))

The socket is bound on the starting thread, so a port in use or a refused address fails the start with a clear
message; a non-loopback address needs a token set on purpose (`MEMO_HTTP_TOKEN`). Stop ends every event stream,
then asks uvicorn to exit and joins its thread.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from memo_desktop.core.errors import ConfigError, ServiceError
from memo_desktop.core.http_token import check_bind, load_token
from memo_desktop.core.monitor import QueueWatcher
from memo_desktop.core.operations import watched_queue_names
from memo_desktop.core.runtime import Part, PartFactory
from memo_desktop.core.threads import join_thread, start_thread
from memo_desktop.web import views
from memo_desktop.web.app import WebState, create_app
from memo_desktop.web.live import LiveFeed, LiveFeedPart

if TYPE_CHECKING:
    from memo_desktop.core.runtime import Runtime

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
GRACEFUL_SECONDS = 2  # what open requests get to finish at stop


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: a response written in two parts (headers, body) must not wait ~40 ms for the
    # client's delayed ACK on a kept-alive connection (measured: 43 ms per request without, 1-3 ms with)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServiceError(f"the web server cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    except (socket.gaierror, UnicodeError) as exc:
        sock.close()
        raise ConfigError(f"'{host}' is not an address this machine can listen on ({exc})") from None
    sock.set_inheritable(True)
    return sock


class HttpServer:
    name = "http server"

    def __init__(self, runtime: Runtime, host: str, port: int) -> None:
        self._runtime = runtime
        self.host = host
        self.port = port
        self.feed = LiveFeed(lambda snap: views.snapshot(snap, runtime.connections))
        self.web: WebState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, with_token: bool = False) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{self.port}/queue"
        return f"{base}?token={self.web.token.value}" if with_token and self.web is not None else base

    def start(self) -> HttpServer:
        token = load_token(self._runtime.settings)
        check_bind(self.host, token)
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]  # port 0: the one the system chose
        self.web = WebState(self._runtime, self.feed, token, self.port)
        config = uvicorn.Config(create_app(self.web), log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=GRACEFUL_SECONDS, loop="asyncio",
                                server_header=False)
        self._server = server = uvicorn.Server(config)
        self._thread = start_thread(self._serve, "http-server", sock)
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.stop(GRACEFUL_SECONDS)
            raise ServiceError(f"the web server on {self.host}:{self.port} did not start")
        log.info("web dashboard on %s", self.url())
        return self

    def _serve(self, sock: socket.socket) -> None:
        try:
            self._server.run(sockets=[sock])  # type: ignore[union-attr]
        except SystemExit:  # uvicorn's way of saying it could not start (logged by uvicorn)
            pass
        finally:
            sock.close()

    def stop(self, timeout: float) -> bool:
        self.feed.close()
        if self._server is not None:
            self._server.should_exit = True
        return join_thread(self._thread, timeout)


def web_parts(host: str, port: int) -> tuple[tuple[PartFactory, ...], tuple[PartFactory, ...]]:
    """(parts, redis_parts) of a plan that serves the dashboard and API on host:port (0: any free port)."""
    servers: dict[int, HttpServer] = {}

    def server(runtime: Runtime) -> Part:
        servers[id(runtime)] = made = HttpServer(runtime, host, port)
        return made

    def live(runtime: Runtime) -> Part:
        made = servers.pop(id(runtime))
        ctx = runtime.context
        assert runtime.hub is not None  # redis parts start after the hub
        watcher = QueueWatcher(ctx.redis, runtime.hub, watched_queue_names(ctx), on_snapshot=made.feed.snapshot_taken,
                               on_events=made.feed.job_events, name="web-live")
        return LiveFeedPart(made.feed, watcher)

    return (server,), (live,)


def http_server_of(runtime: Runtime) -> HttpServer | None:
    return next((part for part in runtime.parts if isinstance(part, HttpServer)), None)
