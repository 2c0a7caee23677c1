"""Count-based retention: keep the last N completed and M failed jobs per queue (rq only has TTLs).

A queue is the set of its lanes (one RQ queue per priority and user, see `lanes`): the limits hold for the queue as a
whole, the jobs that ended first being trimmed whichever lane they ran in. Trimming failed jobs never loses a dead
letter: those are kept apart (see `dead_letters`).

rq scores finished/failed registries by expiry time (end + TTL) in whole seconds, so all the jobs that end within one
second tie, and Redis orders ties by their (random) ids. The worker therefore re-scores each job it ends with its
exact end time (`restamp`), and trimming then deletes the lowest scores: the jobs that ended first. (Entries written
by other paths, such as the reaper failing an abandoned job, keep rq's whole-second scores.)

Trimming runs in Redis as one script per finished job: no read-then-delete race between workers (a job another worker
trimmed a moment ago is simply not there any more), and one round trip.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import redis
from rq.defaults import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL
from rq.executions import ExecutionRegistry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.results import Result

TRIM_BATCH = 1000  # most jobs one call deletes, so a first trim of a huge history never blocks Redis for long

# KEYS: the finished registries of the queue's n lanes, then their failed registries. ARGV: keep finished, keep
# failed, batch, n, then the key prefixes of what belongs to a job: its hash, its results, its executions. (The job's
# keys are derived here, not passed as KEYS: fine on a standalone Redis, which is what rq supports.)
_TRIM = """
local n = tonumber(ARGV[4])
local function forget(key, id)
  redis.call('ZREM', key, id)
  redis.call('DEL', ARGV[5] .. id, ARGV[5] .. id .. ':dependents', ARGV[5] .. ':' .. id .. ':dependencies',
             ARGV[6] .. id, ARGV[7] .. id)
end
local removed = 0
for kind = 0, 1 do
  local first = kind * n
  local total = 0
  for i = 1, n do total = total + redis.call('ZCARD', KEYS[first + i]) end
  local excess = math.min(total - tonumber(ARGV[kind + 1]), tonumber(ARGV[3]))
  if excess > 0 and n == 1 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[first + 1], 0, excess - 1)) do forget(KEYS[first + 1], id) end
    removed = removed + excess
  else
    while excess > 0 do  -- the job that ended first, whichever lane it is in
      local oldest, oldest_id, oldest_score = nil, nil, nil
      for i = 1, n do
        local head = redis.call('ZRANGE', KEYS[first + i], 0, 0, 'WITHSCORES')
        if head[1] and (oldest_score == nil or tonumber(head[2]) < oldest_score) then
          oldest, oldest_id, oldest_score = KEYS[first + i], head[1], tonumber(head[2])
        end
      end
      if oldest == nil then break end
      forget(oldest, oldest_id)
      removed = removed + 1
      excess = excess - 1
    end
  end
end
return removed
"""

_PREFIXES = (Job.redis_job_namespace_prefix, Result.get_key(""), ExecutionRegistry.key_template.format(""))


@functools.lru_cache(maxsize=1024)
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


def trim(client: Any, lanes: Sequence[str], keep_completed: int, keep_failed: int) -> Any:
    """Delete the oldest jobs of one queue (all its `lanes`) beyond the limits (on a pipeline when given one):
    returns how many were removed."""
    keys = [registry_keys(lane) for lane in lanes]
    return client.eval(_TRIM, 2 * len(keys), *(k[0] for k in keys), *(k[1] for k in keys), keep_completed,
                       keep_failed, TRIM_BATCH, len(keys), *_PREFIXES)


def apply_retention(connection: redis.Redis, lanes: Sequence[str], keep_completed: int, keep_failed: int) -> int:
    removed = 0
    while True:  # more than one batch only after the limits were lowered
        count = trim(connection, lanes, keep_completed, keep_failed)
        removed += count
        if count < TRIM_BATCH:
            return removed
