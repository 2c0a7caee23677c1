"""Job states as the origin design names them, mapped from rq's statuses."""

from __future__ import annotations

from enum import Enum

from rq.job import JobStatus


class JobState(str, Enum):
    WAITING = "waiting"
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


_FROM_RQ = {
    JobStatus.QUEUED: JobState.WAITING,
    JobStatus.DEFERRED: JobState.WAITING,
    JobStatus.CREATED: JobState.WAITING,
    JobStatus.STARTED: JobState.ACTIVE,
    JobStatus.SCHEDULED: JobState.SCHEDULED,
    JobStatus.FINISHED: JobState.COMPLETED,
    JobStatus.FAILED: JobState.FAILED,
    JobStatus.STOPPED: JobState.FAILED,
    JobStatus.CANCELED: JobState.CANCELED,
}


def state_from_rq(status: JobStatus | str | None) -> JobState:
    if status is None:
        return JobState.UNKNOWN
    return _FROM_RQ.get(JobStatus(status), JobState.UNKNOWN)
