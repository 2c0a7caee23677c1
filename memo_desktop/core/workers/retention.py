"""Count-based retention: keep the last N completed and M failed jobs per queue (rq only has TTLs).

rq scores finished/failed registries by expiry time; every job of a queue gets the same TTL, so the lowest scores
are the oldest jobs (to the second: ties are broken by the jobs' end times). Trimming is idempotent, so two workers
trimming at once do no harm.
"""

from __future__ import annotations

import redis
from rq.registry import BaseRegistry, FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.registry import RegisteredJob


def oldest_job_ids(registry: BaseRegistry, count: int) -> list[str]:
    """The `count` oldest jobs of a finished/failed registry.

    rq scores these registries in whole seconds, so every job that ended in the same second shares a score and Redis
    orders them by id (random): the members sharing the cut-off score are ordered by their `ended_at` instead.
    """
    connection = registry.connection
    cut = connection.zrange(registry.key, count - 1, count - 1, withscores=True)
    if not cut:
        return []
    score = cut[0][1]
    with connection.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(registry.key, "-inf", f"({score}")
        pipe.zrangebyscore(registry.key, score, score)
        older, ties = pipe.execute()
    older = [registry.parse_job_id(raw) for raw in older]
    ties = [registry.parse_job_id(raw) for raw in ties]
    if len(ties) > 1:
        with connection.pipeline(transaction=False) as pipe:
            for job_id in ties:
                pipe.hget(RegisteredJob.key_for(job_id), "ended_at")
            ended = [raw or b"" for raw in pipe.execute()]  # ISO-8601 UTC: sorts as text
        ties = [job_id for _, job_id in sorted(zip(ended, ties))]
    return (older + ties)[:count]


def trim_registry(registry: BaseRegistry, keep: int) -> int:
    """Delete the oldest jobs beyond `keep`; returns how many were removed."""
    connection = registry.connection
    excess = connection.zcard(registry.key) - keep
    if excess <= 0:
        return 0
    oldest = oldest_job_ids(registry, excess)
    jobs = RegisteredJob.fetch_many(oldest, connection=connection, serializer=JSONSerializer)
    with connection.pipeline() as pipe:
        for job_id, job in zip(oldest, jobs):
            pipe.zrem(registry.key, job_id)
            if job is not None:
                job.delete(pipeline=pipe, remove_from_queue=False, delete_dependents=False)
        pipe.execute()
    return len(oldest)


def apply_retention(connection: redis.Redis, queue: str, keep_completed: int, keep_failed: int) -> None:
    trim_registry(FinishedJobRegistry(queue, connection=connection, serializer=JSONSerializer,
                                      job_class=RegisteredJob), keep_completed)
    trim_registry(FailedJobRegistry(queue, connection=connection, serializer=JSONSerializer,
                                    job_class=RegisteredJob), keep_failed)
