"""Count-based retention: keep the last N completed and M failed jobs per queue (rq only has TTLs).

rq scores finished/failed registries by expiry time (end + TTL) in whole seconds, so all the jobs that end within one
second tie, and Redis orders ties by their (random) ids. The worker therefore re-scores each job it ends with its
exact end time (`restamp`), and trimming then deletes the lowest scores: the jobs that ended first. (Entries written
by other paths, such as the reaper failing an abandoned job, keep rq's whole-second scores.)

Trimming runs in Redis as one script per finished job: no read-then-delete race between workers (a job another worker
trimmed a moment ago is simply not there any more), and one round trip.
"""

from __future__ import annotations

from typing import Any

import redis
from rq.defaults import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL
from rq.executions import ExecutionRegistry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.results import Result

TRIM_BATCH = 1000  # most jobs one call deletes, so a first trim of a huge history never blocks Redis for long

# KEYS: finished registry, failed registry. ARGV: keep finished, keep failed, batch, then the key prefixes of what
# belongs to a job: its hash, its results, its executions. (The job's keys are derived here, not passed as KEYS:
# fine on a standalone Redis, which is what rq supports.)
_TRIM = """
local removed = 0
for i = 1, 2 do
  local excess = math.min(redis.call('ZCARD', KEYS[i]) - tonumber(ARGV[i]), tonumber(ARGV[3]))
  if excess > 0 then
    local ids = redis.call('ZRANGE', KEYS[i], 0, excess - 1)
    for _, id in ipairs(ids) do
      redis.call('ZREM', KEYS[i], id)
      redis.call('DEL', ARGV[4] .. id, ARGV[4] .. id .. ':dependents', ARGV[4] .. ':' .. id .. ':dependencies',
                 ARGV[5] .. id, ARGV[6] .. id)
    end
    removed = removed + #ids
  end
end
return removed
"""

_PREFIXES = (Job.redis_job_namespace_prefix, Result.get_key(""), ExecutionRegistry.key_template.format(""))


def registry_keys(queue: str) -> tuple[str, str]:
    return FinishedJobRegistry.key_template.format(queue), FailedJobRegistry.key_template.format(queue)


def restamp(pipeline: Any, job: Job, status: JobStatus | str | None) -> None:
    """Score the job's finished/failed registry entry by its exact end time (rq: whole seconds)."""
    finished, failed = registry_keys(job.origin)
    if status == JobStatus.FINISHED:
        key, ttl = finished, job.get_result_ttl(DEFAULT_RESULT_TTL)
    elif status == JobStatus.FAILED:
        key, ttl = failed, DEFAULT_FAILURE_TTL if job.failure_ttl is None else job.failure_ttl
    else:
        return
    if job.ended_at is not None and ttl is not None and ttl >= 0:
        pipeline.zadd(key, {job.id: job.ended_at.timestamp() + ttl}, xx=True)


def trim(client: Any, queue: str, keep_completed: int, keep_failed: int) -> Any:
    """Delete the oldest jobs beyond the limits (on a pipeline when given one): returns how many were removed."""
    return client.eval(_TRIM, 2, *registry_keys(queue), keep_completed, keep_failed, TRIM_BATCH, *_PREFIXES)


def apply_retention(connection: redis.Redis, queue: str, keep_completed: int, keep_failed: int) -> int:
    removed = 0
    while True:  # more than one batch only after the limits were lowered
        count = trim(connection, queue, keep_completed, keep_failed)
        removed += count
        if count < TRIM_BATCH:
            return removed
