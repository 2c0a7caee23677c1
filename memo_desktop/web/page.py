"""`GET /queue`: the dashboard, server-rendered (Jinja2, autoescaped: every title, file name and error is text) with
its first page of jobs, then kept live by `static/queue.js` from the event stream."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from memo_desktop.core.monitor.search import LISTABLE_STATES, page_jobs
from memo_desktop.core.webhooks import WebhookRegistry
from memo_desktop.web import views
from memo_desktop.web.api import PAGE_SIZE, health_snapshot
from memo_desktop.web.app import state_of

router = APIRouter()
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True))
TEMPLATES.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": str}


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse, summary="The queue dashboard")
def queue_page(request: Request) -> HTMLResponse:
    web = state_of(request)
    ctx = web.context
    snap = health_snapshot(request)
    live = views.snapshot(snap, web.runtime.connections)
    jobs = page_jobs(ctx.jobs, snap, list(snap.by_base), LISTABLE_STATES, 0, PAGE_SIZE,
                     ctx.library.titles) if snap.connected else None
    hooks = [hook.as_dict() for hook in WebhookRegistry(ctx.redis, ctx.settings).list()] if snap.connected else []
    html = TEMPLATES.get_template("queue.html").render(
        live=live, jobs=views.job_page(jobs, 1, PAGE_SIZE) if jobs is not None else None,
        states=[s.value for s in LISTABLE_STATES], page_size=PAGE_SIZE, webhooks=hooks,
        device=ctx.settings.device)
    return HTMLResponse(html, headers={"cache-control": "no-store", "referrer-policy": "no-referrer",
                                       "content-security-policy": "default-src 'self'; img-src 'self' data:; "
                                                                  "script-src 'self'; style-src 'self'; "
                                                                  "frame-ancestors 'none'",
                                       "x-content-type-options": "nosniff"})
