"""Queue semantics over HTTP, in the CLI's shapes: dead letters (`dlq list/requeue/purge`), this device's schedules
(`schedule list/add/remove/run`) and a waiting job's priority. Redis failures become 503 in `web.app`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from memo_desktop.core.jobs.contract import optional_queue
from memo_desktop.core.pipeline.scheduled_actions import device_schedules, run_now
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.schedules import ACTION_KINDS, ScheduleStore
from memo_desktop.web.app import state_of

router = APIRouter()
PAGE_SIZE = 50


class NewSchedule(BaseModel):
    name: str
    cron: str
    action: str


class PriorityChange(BaseModel):
    priority: str


def _queue(request: Request, queue: str) -> str | None:
    return optional_queue(queue, state_of(request).context.settings.device)


def _schedules(request: Request) -> ScheduleStore:
    return device_schedules(state_of(request).context)


# -- dead letters ----------------------------------------------------------------------------------------------------
@router.get("/api/dead-letters", summary="Dead letters newest first (the CLI's `dlq list --json`), one page")
def list_dead_letters(request: Request, queue: str = "", page: int = Query(1, ge=1),
                      page_size: int = Query(PAGE_SIZE, alias="pageSize", ge=1, le=500)) -> dict[str, Any]:
    found = dead_letters.list_page(state_of(request).context.redis, _queue(request, queue), (page - 1) * page_size,
                                   page_size)
    return {"total": found.total, "offset": found.offset, "page": page, "pageSize": page_size,
            "deadLetters": [letter.as_dict() for letter in found.entries]}


@router.post("/api/dead-letters/requeue", summary="Requeue every dead letter (of `queue`) with fresh attempts")
def requeue_all(request: Request, queue: str = "") -> dict[str, Any]:
    return {"success": True, "requeued": state_of(request).context.jobs.requeue_dead_letters(_queue(request, queue))}


@router.post("/api/dead-letters/purge", summary="Forget every dead letter (of `queue`, that died `olderThan` days ago)")
def purge_all(request: Request, queue: str = "",
              older_than: float | None = Query(None, alias="olderThan", ge=0)) -> dict[str, Any]:
    purged = dead_letters.purge(state_of(request).context.redis, _queue(request, queue), older_than)
    return {"success": True, "purged": purged}


@router.post("/api/dead-letters/{job_id}/requeue", summary="Run one dead letter's job again with fresh attempts")
def requeue_one(request: Request, job_id: str) -> dict[str, Any]:
    requeued = state_of(request).context.jobs.requeue_dead_letter(job_id)
    return {"success": True, "jobId": job_id, "requeued": requeued}  # False: it was waiting or running already


@router.delete("/api/dead-letters/{job_id}", summary="Forget one dead letter")
def purge_one(request: Request, job_id: str) -> dict[str, Any]:
    dead_letters.purge_one(state_of(request).context.redis, job_id)
    return {"success": True, "jobId": job_id}


# -- schedules -------------------------------------------------------------------------------------------------------
@router.get("/api/schedules", summary="This device's schedules with next and last runs (`schedule list --json`)")
def list_schedules(request: Request) -> dict[str, Any]:
    store = _schedules(request)
    return {"device": store.device, "schedules": [status.as_dict() for status in store.statuses()],
            "actions": [{"name": k.name, "takesDays": k.takes_days, "description": k.description}
                        for k in ACTION_KINDS]}


@router.post("/api/schedules", summary="Add a schedule: {name, cron, action} (cron in local time)")
def add_schedule(request: Request, body: NewSchedule) -> dict[str, Any]:
    store = _schedules(request)
    schedule = store.add(body.name, body.cron, body.action)
    return {"success": True, **store.status(schedule.name).as_dict()}


@router.delete("/api/schedules/{name}", summary="Remove a schedule and its run history")
def remove_schedule(request: Request, name: str) -> dict[str, Any]:
    _schedules(request).remove(name)
    return {"success": True, "name": name}


@router.post("/api/schedules/{name}/run", summary="Run a schedule's action now, on this server (recorded as a run)")
def run_schedule_now(request: Request, name: str) -> dict[str, Any]:
    return {"success": True, "run": run_now(state_of(request).context, name).as_dict()}


# -- priorities ------------------------------------------------------------------------------------------------------
@router.post("/api/queue/job/{job_id}/priority", summary="Change a waiting job's priority: {priority: high|normal|low}")
def set_priority(request: Request, job_id: str, body: PriorityChange) -> dict[str, Any]:
    return {"success": True, **state_of(request).context.jobs.set_priority(job_id, body.priority).as_dict()}
