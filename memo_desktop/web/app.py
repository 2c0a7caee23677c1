"""The FastAPI app: a list of routers over core, errors mapped to status codes once, the token on every request.

    create_app(web, extra_routers=(), extra_sections=())

`extra_routers` and `extra_sections` are the extension points for the dead-letter and schedule endpoints of the
queueing work: a router adds `/api/...` routes (behind the same token), a `PageSection(title, api_url)` adds a
table to `/queue` filled from an endpoint answering `{items: [{...}, ...]}` (every value shown as text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRouter
from fastapi.staticfiles import StaticFiles

from memo_desktop import __version__
from memo_desktop.core.errors import (BadAudioFile, ConfigError, DeliveryFailed, JobNotFound, LibraryError, MemoError,
                                      MemoNotFound, PayloadError, RedisUnavailable, RuntimeClosed, WebhookNotFound)
from memo_desktop.core.http_token import HttpToken
from memo_desktop.core.runtime import Runtime
from memo_desktop.web.auth import TokenAuth
from memo_desktop.web.live import LiveFeed

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class PageSection:
    title: str
    api_url: str  # GET -> {"items": [{column: value, ...}, ...]}


@dataclass
class WebState:
    """What the routes read: the runtime (its context, connections), the live feed, the settings of this server."""

    runtime: Runtime
    feed: LiveFeed
    token: HttpToken
    port: int
    sections: tuple[PageSection, ...] = field(default_factory=tuple)

    @property
    def context(self):  # noqa: ANN201 - AppContext; RuntimeClosed once the runtime stopped
        return self.runtime.context


def state_of(request: Request) -> WebState:
    return request.app.state.web


_STATUS = ((MemoNotFound, 404), (JobNotFound, 404), (WebhookNotFound, 404), (BadAudioFile, 400),
           (PayloadError, 400), (ConfigError, 400), (LibraryError, 400), (RedisUnavailable, 503),
           (RuntimeClosed, 503), (DeliveryFailed, 502))


def status_of(exc: MemoError) -> int:
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


async def _memo_error(request: Request, exc: MemoError) -> JSONResponse:
    return JSONResponse({"success": False, "error": str(exc)}, status_code=status_of(exc))


def create_app(web: WebState, extra_routers: Sequence[APIRouter] = ()) -> Any:
    from memo_desktop.web import api, page, uploads, webhooks_api

    app = FastAPI(title="memo-desktop", version=__version__, docs_url=None, redoc_url=None,
                  description="The queue of memo-desktop: health, jobs, uploads, webhooks, live events. Every "
                              "request needs the token (cookie from the dashboard link, or Authorization: Bearer).")
    app.state.web = web
    app.add_exception_handler(MemoError, _memo_error)  # type: ignore[arg-type]
    for router in (api.router, uploads.router, webhooks_api.router, page.router, *extra_routers):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return TokenAuth(app, web.token, web.port)
