"""The FastAPI app: a list of routers over core, errors mapped to status codes once (Redis failures too), the token
on every request.

    create_app(web)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from memo_desktop import __version__
from memo_desktop.core.errors import (BadAudioFile, ConfigError, DeliveryFailed, JobNotFound, LibraryError, MemoError,
                                      MemoNotFound, PayloadError, QueueError, RedisUnavailable, RuntimeClosed,
                                      ScheduleNotFound, WebhookNotFound)
from memo_desktop.core.http_token import HttpToken
from memo_desktop.core.redis_errors import describe, translate
from memo_desktop.core.runtime import Runtime
from memo_desktop.web.auth import TokenAuth
from memo_desktop.web.live import LiveFeed

STATIC_DIR = Path(__file__).parent / "static"


@dataclass
class WebState:
    """What the routes read: the runtime (its context, connections), the live feed, the settings of this server."""

    runtime: Runtime
    feed: LiveFeed
    token: HttpToken
    port: int

    @property
    def context(self):  # noqa: ANN201 - AppContext; RuntimeClosed once the runtime stopped
        return self.runtime.context


def state_of(request: Request) -> WebState:
    return request.app.state.web


_STATUS = ((MemoNotFound, 404), (JobNotFound, 404), (WebhookNotFound, 404), (ScheduleNotFound, 404),
           (BadAudioFile, 400), (PayloadError, 400), (ConfigError, 400), (LibraryError, 400),
           (RedisUnavailable, 503), (RuntimeClosed, 503), (DeliveryFailed, 502), (QueueError, 409))


def status_of(exc: MemoError) -> int:
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


async def _memo_error(request: Request, exc: MemoError) -> JSONResponse:
    return JSONResponse({"success": False, "error": str(exc)}, status_code=status_of(exc))


async def _redis_error(request: Request, exc: redis.RedisError) -> JSONResponse:
    """A Redis call outside the queue client's boundary (webhooks, schedules, dead letters): the same translation.
    (Only redis-py's errors: an OSError here is the disk's, e.g. an upload on a full disk.)"""
    try:
        where = describe(state_of(request).context.redis)
    except MemoError:  # the runtime closed meanwhile
        where = "Redis"
    return await _memo_error(request, translate(exc, where))


def create_app(web: WebState) -> Any:
    from memo_desktop.web import api, page, queueing_api, uploads, webhooks_api

    app = FastAPI(title="memo-desktop", version=__version__, docs_url=None, redoc_url=None,
                  description="The queue of memo-desktop: health, jobs, uploads, dead letters, schedules, webhooks, "
                              "live events. Every request needs the token (cookie from the dashboard link, or "
                              "Authorization: Bearer).")
    app.state.web = web
    app.add_exception_handler(MemoError, _memo_error)  # type: ignore[arg-type]
    app.add_exception_handler(redis.RedisError, _redis_error)  # type: ignore[arg-type]
    for router in (api.router, uploads.router, webhooks_api.router, queueing_api.router, page.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return TokenAuth(app, web.token, web.port)
