"""The dead-letter queue: every job that used up its attempts (or failed for good at once) is kept here, with its
reason, until it is requeued or purged. Generic over queues: any job a ThreadWorker ends as failed lands here,
whatever its queue (file-*, webhook deliveries, ...).

rq's failed registries are history, trimmed to `keep_failed` per queue; a dead letter is a separate record that
the trim never touches, so nothing is dropped silently. Its own cap is `keep_dead`: beyond it the oldest dead
letters are dropped, each one logged and counted per queue (`dropped_counts`, for a metric).

Redis layout (all under `memo-desktop:dead-letters`):
    ...:entries          hash  job id -> the dead letter as JSON (what requeueing needs: function, arguments, lane)
    memo-desktop:dead-letters  sorted set of every dead letter's id, scored by when it died
    ...:queue:<queue>    sorted set of one queue's dead letters (a queue is a base name, e.g. file-process)
    ...:queues           set of the queues that ever had one
    ...:dropped          hash  queue -> dead letters dropped by the cap

A page of the list is one ZREVRANGE and one HMGET, whatever the size (100,000 dead letters cost what 100 do).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import redis
from rq.job import Job

from memo_desktop.core.errors import JobNotFound
from memo_desktop.core.queueing.lanes import Lane

log = logging.getLogger(__name__)

ALL_KEY = "memo-desktop:dead-letters"
ENTRIES_KEY = ALL_KEY + ":entries"
QUEUE_KEY_PREFIX = ALL_KEY + ":queue:"
QUEUES_KEY = ALL_KEY + ":queues"
DROPPED_KEY = ALL_KEY + ":dropped"
BATCH = 500  # ids per script call when purging or requeueing many


@dataclass(frozen=True)
class DeadLetter:
    job_id: str
    queue: str  # the base name (file-process, file-upload@laptop, ...)
    lane: str  # the RQ queue it failed in (file-process:high:alice)
    func: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    priority: str = "normal"
    user: str = ""
    reason: str = ""
    failed_at: float = 0.0
    attempts_made: int = 0
    description: str = ""
    title: str = ""  # the memo's, when the job has one (job.meta)
    max_attempts: int = 0  # the job's own attempts in total (0: the settings'), kept when it is requeued

    def to_json(self) -> str:
        return json.dumps({"jobId": self.job_id, "queue": self.queue, "lane": self.lane, "func": self.func,
                           "args": list(self.args), "kwargs": dict(self.kwargs), "priority": self.priority,
                           "userId": self.user, "reason": self.reason, "failedAt": self.failed_at,
                           "attemptsMade": self.attempts_made, "description": self.description,
                           "title": self.title, "maxAttempts": self.max_attempts},
                          separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, raw: bytes | str) -> DeadLetter:
        d = json.loads(raw)
        return cls(job_id=d["jobId"], queue=d["queue"], lane=d.get("lane", d["queue"]), func=d.get("func", ""),
                   args=tuple(d.get("args") or ()), kwargs=d.get("kwargs") or {},
                   priority=d.get("priority", "normal"), user=d.get("userId", ""), reason=d.get("reason", ""),
                   failed_at=float(d.get("failedAt", 0.0)), attempts_made=int(d.get("attemptsMade", 0)),
                   description=d.get("description", ""), title=d.get("title", ""),
                   max_attempts=int(d.get("maxAttempts", 0)))

    @property
    def payload(self) -> Mapping[str, Any]:
        """A memo-desktop job's only argument (`payload`); {} for other jobs."""
        payload = self.kwargs.get("payload")
        return payload if isinstance(payload, Mapping) else {}

    def as_dict(self) -> dict[str, Any]:
        """For `dlq list --json` and the web API: camelCase, like a job's status."""
        return {"jobId": self.job_id, "queue": self.queue, "rqQueue": self.lane, "func": self.func,
                "priority": self.priority, "userId": self.user, "reason": self.reason, "failedAt": self.failed_at,
                "attemptsMade": self.attempts_made, "title": self.title, "data": dict(self.payload)}


@dataclass(frozen=True)
class DeadLetterPage:
    entries: tuple[DeadLetter, ...]
    total: int  # of the list paged (one queue's or all)
    offset: int


def of_job(job: Job, reason: str) -> DeadLetter:
    """What the dead-letter queue keeps of a job that failed for good: enough to run it again, and why it died."""
    lane = Lane.parse(job.origin)
    return DeadLetter(job_id=job.id, queue=lane.base, lane=job.origin, func=job.func_name or "",
                      args=tuple(job.args or ()), kwargs=dict(job.kwargs or {}), priority=lane.priority.value,
                      user=lane.user or "", reason=reason,
                      failed_at=job.ended_at.timestamp() if job.ended_at is not None else time.time(),
                      attempts_made=int(job.meta.get("attempts", 0)), description=job.description or "",
                      title=str(job.meta.get("title") or ""), max_attempts=int(job.meta.get("maxAttempts") or 0))


# KEYS: entries, all, the queue's set, the queues set, dropped. ARGV: id, json, score, queue, cap, queue key prefix.
# Returns the ids dropped by the cap (oldest first).
_RECORD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[4])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if excess <= 0 then return {} end
local ids = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
for _, id in ipairs(ids) do
  local queue = ARGV[4]
  local raw = redis.call('HGET', KEYS[1], id)
  if raw then
    local ok, entry = pcall(cjson.decode, raw)
    if ok and type(entry) == 'table' and entry['queue'] then queue = entry['queue'] end
  end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', ARGV[6] .. queue, id)
  redis.call('HINCRBY', KEYS[5], queue, 1)
end
return ids
"""

# KEYS: entries, all. ARGV: queue key prefix, a queue whose set the ids are dropped from too ('' for none), then
# the ids. Returns how many there were.
_REMOVE = """
local removed = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if ARGV[2] ~= '' then redis.call('ZREM', ARGV[1] .. ARGV[2], id) end
  local raw = redis.call('HGET', KEYS[1], id)
  if raw then
    local ok, entry = pcall(cjson.decode, raw)
    if ok and type(entry) == 'table' and entry['queue'] then redis.call('ZREM', ARGV[1] .. entry['queue'], id) end
    redis.call('HDEL', KEYS[1], id)
    removed = removed + 1
  end
  redis.call('ZREM', KEYS[2], id)
end
return removed
"""


def queue_key(queue: str) -> str:
    return QUEUE_KEY_PREFIX + queue


def record(client: Any, letter: DeadLetter, keep_dead: int) -> Any:
    """Keep `letter` (on a pipeline when given one); returns the ids the cap dropped (the pipeline's result)."""
    return client.eval(_RECORD, 5, ENTRIES_KEY, ALL_KEY, queue_key(letter.queue), QUEUES_KEY, DROPPED_KEY,
                       letter.job_id, letter.to_json(), letter.failed_at, letter.queue, keep_dead, QUEUE_KEY_PREFIX)


def report_dropped(dropped: Iterable[bytes | str] | None, keep_dead: int) -> None:
    """One log line per dead letter the cap dropped (the counter in Redis was raised by the same script)."""
    for raw in dropped or ():
        job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        log.warning("dead-letter queue full (keep_dead=%d): dropped the oldest dead letter, job %s", keep_dead,
                    job_id)


def get(connection: redis.Redis, job_id: str) -> DeadLetter | None:
    raw = connection.hget(ENTRIES_KEY, job_id)
    return DeadLetter.from_json(raw) if raw is not None else None


def contains(connection: redis.Redis, job_id: str) -> bool:
    return bool(connection.hexists(ENTRIES_KEY, job_id))


def list_page(connection: redis.Redis, queue: str | None = None, offset: int = 0, limit: int = 50
              ) -> DeadLetterPage:
    """Dead letters newest first (of one queue, or of all), one page."""
    key = queue_key(queue) if queue else ALL_KEY
    with connection.pipeline(transaction=False) as pipe:
        pipe.zcard(key)
        pipe.zrevrange(key, offset, offset + max(0, limit) - 1)
        total, ids = pipe.execute()
    raws = connection.hmget(ENTRIES_KEY, ids) if ids else []
    return DeadLetterPage(tuple(DeadLetter.from_json(raw) for raw in raws if raw is not None), int(total), offset)


def counts(connection: redis.Redis) -> dict[str, int]:
    """Dead letters per queue (every queue that ever had one, 0 included): `memo_desktop_dead_letter_jobs{queue}`."""
    queues = sorted(raw.decode() for raw in connection.smembers(QUEUES_KEY))
    with connection.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zcard(queue_key(queue))
        sizes = pipe.execute() if queues else []
    return dict(zip(queues, (int(n) for n in sizes)))


def total(connection: redis.Redis) -> int:
    return int(connection.zcard(ALL_KEY))


def dropped_counts(connection: redis.Redis) -> dict[str, int]:
    """Dead letters the `keep_dead` cap dropped, per queue, since the Redis was new (a counter for a metric)."""
    return {k.decode(): int(v) for k, v in connection.hgetall(DROPPED_KEY).items()}


def ids(connection: redis.Redis, queue: str | None = None, older_than: float | None = None,
        limit: int = BATCH) -> list[str]:
    """Up to `limit` ids, oldest first: of one queue or all, and only those that died before `older_than` (epoch s)
    when given."""
    key = queue_key(queue) if queue else ALL_KEY
    top = "(" + repr(older_than) if older_than is not None else "+inf"
    return [raw.decode() for raw in connection.zrangebyscore(key, "-inf", top, start=0, num=limit)]


def remove(connection: redis.Redis, job_ids: Iterable[str], queue: str | None = None) -> int:
    """Forget these dead letters (purged, or requeued); returns how many there were."""
    removed = 0
    job_ids = list(job_ids)
    for start in range(0, len(job_ids), BATCH):
        chunk = job_ids[start:start + BATCH]
        removed += int(connection.eval(_REMOVE, 2, ENTRIES_KEY, ALL_KEY, QUEUE_KEY_PREFIX, queue or "", *chunk))
    return removed


def purge_one(connection: redis.Redis, job_id: str) -> None:
    """Forget one dead letter; JobNotFound if there is none with that id."""
    if not remove(connection, [job_id]):
        raise JobNotFound(f"no dead letter with id '{job_id}' (requeued or purged already?)")


def purge(connection: redis.Redis, queue: str | None = None, older_than_days: float | None = None) -> int:
    """Purge every dead letter (of one queue; that died more than `older_than_days` ago); returns how many."""
    cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
    purged = 0
    while batch := ids(connection, queue, cutoff):
        purged += remove(connection, batch, queue)
    return purged
