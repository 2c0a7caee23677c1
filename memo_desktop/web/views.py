"""What the API and the page show, as JSON-ready dicts (the CLI's names: jobId, failedReason, attemptsMade...)."""

from __future__ import annotations

from typing import Any, Mapping

from memo_desktop.core.monitor import HealthSnapshot, JobRow, WorkerRow
from memo_desktop.core.monitor.search import JobPage
from memo_desktop.core.runtime import ConnectionState


def job_row(row: JobRow) -> dict[str, Any]:
    return {"jobId": row.job_id, "queue": row.queue, "state": row.state.value, "progress": row.progress,
            "attemptsMade": row.attempts_made, "attempts": row.attempts, "worker": row.worker,
            "failedReason": row.error, "title": row.title, "memoId": row.memo_id, "enqueuedAt": row.enqueued_at,
            "finishedAt": row.ended_at, "priority": row.priority.value, "userId": row.user}


def worker_row(row: WorkerRow) -> dict[str, Any]:
    return {"name": row.name, "hostname": row.hostname, "state": row.state, "queues": list(row.queues),
            "currentJobId": row.current_job_id}


def connection(state: ConnectionState | None, default: str) -> dict[str, Any]:
    if state is None:
        return {"connected": None, "detail": default}
    return {"connected": state.connected, "detail": state.detail}


def snapshot(snap: HealthSnapshot, connections: Mapping[str, ConnectionState]) -> dict[str, Any]:
    """The page's live state: connection of each service, counts per queue (over its lanes: core.queueing.lanes),
    workers, alerts, dead letters per queue, counts per user."""
    return {
        "redis": {"connected": snap.connected, "detail": snap.error if not snap.connected else
                  connection(connections.get("redis"), "").get("detail", "")},
        "store": connection(connections.get("store"), "not watched by this process"),
        "connected": snap.connected,
        "error": snap.error,
        "queues": {name: counts.as_dict() for name, counts in snap.by_base.items()},
        "workers": [worker_row(w) for w in snap.workers],
        "alerts": [a.as_dict() for a in snap.alerts],
        "deadLetters": dict(snap.dead_letters),
        "users": {user: counts.as_dict() for user, counts in snap.by_user.items()},
        "takenAt": snap.taken_at,
    }


def job_page(page: JobPage, page_number: int, page_size: int) -> dict[str, Any]:
    return {"jobs": [job_row(r) for r in page.rows], "page": page_number, "pageSize": page_size,
            "total": page.total, "scanned": page.scanned, "truncated": page.truncated}
