"""What every worker on a Redis writes about each job it ends, for metrics and alerts that cover the whole cluster.

One script per ended job, sent in the worker's after-job pipeline (one extra command, no extra round trip):
- the job-duration histogram: a hash of bucket counts per (queue, operation), plus sum and count, so
  `/metrics` on any machine shows every worker's durations (`core.metrics` reads it at scrape time);
- outcome counts in 10 s slots (timed by the Redis clock, so machines whose clocks differ agree), read by the
  failure-rate alert (`core.alerts`). Only final outcomes count: completed, or failed with no attempt left.

Keys: `memo-desktop:metrics:job-duration` (fields `<queue>\\t<operation>\\t<bucket index | sum | count>`) and
`memo-desktop:outcomes:<slot>` (fields `completed`, `failed`; each slot expires after a day).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from rq.job import Job, JobStatus

from memo_desktop.core.jobs.contract import DEVICE_SEPARATOR, WEBHOOK_QUEUE

DURATION_KEY = "memo-desktop:metrics:job-duration"
OUTCOME_PREFIX = "memo-desktop:outcomes:"
SLOT_SECONDS = 10
SLOT_TTL_SECONDS = 24 * 3600  # the longest 'alert_window' that sees every slot
# seconds; uploads and transcriptions take from a fraction of a second to many minutes
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
FIELD_SEPARATOR = "\t"

# KEYS[1]: the duration hash. ARGV: the label prefix, the duration, the final outcome ('' for none), the slot TTL,
# the slot key prefix, then the bucket bounds. The slot key is derived here from the Redis clock (standalone Redis,
# as rq supports; effects replication is the default since Redis 5).
_RECORD = """
local d = tonumber(ARGV[2])
local index = #ARGV - 5
for i = 6, #ARGV do
  if d <= tonumber(ARGV[i]) then index = i - 6; break end
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. index, 1)
redis.call('HINCRBYFLOAT', KEYS[1], ARGV[1] .. 'sum', d)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. 'count', 1)
if ARGV[3] ~= '' then
  local now = redis.call('TIME')
  local slot = ARGV[5] .. math.floor(tonumber(now[1]) / %d)
  redis.call('HINCRBY', slot, ARGV[3], 1)
  redis.call('EXPIRE', slot, ARGV[4])
end
return index
""" % SLOT_SECONDS

_VERBS = {"file-upload": "upload", "file-delete": "delete", WEBHOOK_QUEUE: "deliver"}


def operation_of(queue: str, payload: Mapping[str, Any]) -> str:
    """The `operation` label: a processing job's operation, else what its queue does."""
    family = queue.split(DEVICE_SEPARATOR, 1)[0]
    return str(payload.get("operation") or _VERBS.get(family, family))


def final_outcome(status: JobStatus | str | None) -> str:
    if status == JobStatus.FINISHED:
        return "completed"
    if status == JobStatus.FAILED:
        return "failed"
    return ""  # rescheduled for another attempt, or handed back: not an outcome yet


def record(pipeline: Any, job: Job, queue: str, status: JobStatus | str | None) -> None:
    """Add one ended job to the cluster's histogram and outcome counts (queued on the worker's pipeline)."""
    if job.started_at is None or job.ended_at is None:
        return
    duration = max(0.0, (job.ended_at - job.started_at).total_seconds())
    payload = job.kwargs.get("payload", {}) if isinstance(job.kwargs, dict) else {}
    prefix = FIELD_SEPARATOR.join((queue, operation_of(queue, payload if isinstance(payload, dict) else {}), ""))
    pipeline.eval(_RECORD, 1, DURATION_KEY, prefix, repr(duration), final_outcome(status), SLOT_TTL_SECONDS,
                  OUTCOME_PREFIX, *DURATION_BUCKETS)


def slot_keys(now: float, window: float) -> list[str]:
    """The outcome slots that cover the last `window` s before `now` (Redis time)."""
    last = int(now // SLOT_SECONDS)
    first = int((now - window) // SLOT_SECONDS) + 1
    return [f"{OUTCOME_PREFIX}{slot}" for slot in range(first, last + 1)]


def sum_outcomes(rows: Iterable[Iterable[Any]]) -> tuple[int, int]:
    """(completed, failed) summed over HMGET answers of the slot hashes."""
    completed = failed = 0
    for done, bad in rows:
        completed += int(done or 0)
        failed += int(bad or 0)
    return completed, failed
