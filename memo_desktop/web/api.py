"""The queue API: the origin design's endpoints in the CLI's shapes, job search and paging, actions, live events,
and `/metrics`. Handlers are small and synchronous where they call Redis (FastAPI runs them on its thread pool)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from memo_desktop.core.errors import PayloadError
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.metrics import metrics_registry
from memo_desktop.core.monitor import HealthSnapshot, read_health
from memo_desktop.core.monitor.search import LISTABLE_STATES, page_jobs, search_jobs
from memo_desktop.core.operations import watched_queue_names
from memo_desktop.web import views
from memo_desktop.web.app import state_of
from memo_desktop.web.live import END

router = APIRouter()
PAGE_SIZE = 50
KEEPALIVE_SECONDS = 15.0  # a comment line on an idle stream, so proxies keep it open (not a poll: nothing is read)


def health_snapshot(request: Request, with_workers: bool = True) -> HealthSnapshot:
    ctx = state_of(request).context
    return read_health(ctx.redis, watched_queue_names(ctx), with_workers=with_workers)


@router.get("/api/queue/health", summary="Redis status, counts per queue (the CLI's `health --json`), alerts")
def health(request: Request) -> JSONResponse:
    snap = health_snapshot(request)
    return JSONResponse(snap.as_dict(), status_code=200 if snap.connected else 503)


@router.get("/api/queue/snapshot", summary="What the dashboard shows: services, counts per RQ queue, workers")
def snapshot(request: Request) -> dict[str, Any]:
    web = state_of(request)
    return views.snapshot(health_snapshot(request), web.runtime.connections)


@router.get("/api/queue/job/{job_id}", summary="One job's status (the CLI's `job ID --json`); 404 if unknown")
def job(request: Request, job_id: str) -> dict[str, Any]:
    return state_of(request).context.jobs.status(job_id).as_dict()


def parse_states(state: str) -> tuple[JobState, ...]:
    if not state:
        return LISTABLE_STATES
    try:
        chosen = JobState(state)
    except ValueError:
        chosen = None
    if chosen not in LISTABLE_STATES:
        raise PayloadError(f"unknown state '{state}' (use {', '.join(s.value for s in LISTABLE_STATES)})")
    return (chosen,)


@router.get("/api/queue/jobs", summary="Jobs by queue and state, newest first; `q` matches id, memo title, error")
def jobs(request: Request, queue: str = "", state: str = "", q: str = "", page: int = Query(1, ge=1),
         page_size: int = Query(PAGE_SIZE, alias="pageSize", ge=1, le=500)) -> dict[str, Any]:
    ctx = state_of(request).context
    snap = health_snapshot(request, with_workers=False)
    if not snap.connected:
        return JSONResponse({"success": False, "error": snap.error}, status_code=503)  # type: ignore[return-value]
    queues = [queue] if queue else list(snap.by_base)  # a queue is read over its lanes (core.queueing.lanes)
    if queue and snap.counts_of(queue) is None:
        raise PayloadError(f"unknown queue '{queue}' (known: {', '.join(snap.by_base)})")
    states, offset = parse_states(state), (page - 1) * page_size
    titles = ctx.library.titles
    found = (search_jobs(ctx.jobs, queues, states, q, offset, page_size, titles) if q.strip()
             else page_jobs(ctx.jobs, snap, queues, states, offset, page_size, titles))
    return views.job_page(found, page, page_size)


@router.post("/api/queue/job/{job_id}/retry", summary="Run a failed job again with fresh attempts")
def retry_job(request: Request, job_id: str) -> dict[str, Any]:
    state_of(request).context.jobs.retry(job_id)
    return {"success": True, "jobId": job_id}


@router.delete("/api/queue/job/{job_id}", summary="Remove a job that is not running")
def remove_job(request: Request, job_id: str) -> dict[str, Any]:
    state_of(request).context.jobs.remove(job_id)
    return {"success": True, "jobId": job_id}


def _known_queue(request: Request, queue: str) -> Any:
    ctx = state_of(request).context
    snap = health_snapshot(request, with_workers=False)
    if snap.counts_of(queue) is None:
        raise PayloadError(f"unknown queue '{queue}'")
    return ctx.jobs


@router.post("/api/queue/{queue}/pause", summary="Workers take no more jobs from this queue")
def pause(request: Request, queue: str) -> dict[str, Any]:
    _known_queue(request, queue).pause(queue)
    return {"success": True, "queue": queue, "paused": True}


@router.post("/api/queue/{queue}/resume", summary="Workers take jobs from this queue again")
def resume(request: Request, queue: str) -> dict[str, Any]:
    _known_queue(request, queue).resume(queue)
    return {"success": True, "queue": queue, "paused": False}


@router.post("/api/queue/{queue}/clean", summary="Remove this queue's completed jobs")
def clean(request: Request, queue: str) -> dict[str, Any]:
    return {"success": True, "queue": queue, "removed": _known_queue(request, queue).clear_completed(queue)}


@router.post("/api/queue/{queue}/retry-failed", summary="Run every failed job of this queue again")
def retry_failed(request: Request, queue: str) -> dict[str, Any]:
    return {"success": True, "queue": queue, "retried": _known_queue(request, queue).retry_all_failed(queue)}


@router.get("/api/queue/events", summary="Server-Sent Events: `counts` (the snapshot) and `jobs` (job events)")
async def events(request: Request) -> StreamingResponse:
    feed = state_of(request).feed

    async def stream() -> AsyncIterator[str]:
        client = feed.open()
        try:
            yield "retry: 1000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(client.messages.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if message is END:
                    return
                yield message
        finally:
            feed.close_stream(client)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


@router.get("/metrics", summary="Prometheus metrics of the whole cluster (read from Redis at scrape time)")
def metrics(request: Request) -> Response:
    ctx = state_of(request).context
    return Response(generate_latest(metrics_registry(ctx.redis, watched_queue_names(ctx))),
                    media_type=CONTENT_TYPE_LATEST)

