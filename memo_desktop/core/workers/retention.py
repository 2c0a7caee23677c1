"""Count-based retention: keep the last N completed and M failed jobs per queue (rq only has TTLs).

rq scores finished/failed registries by expiry time; every job of a queue gets the same TTL, so the lowest scores
are the oldest jobs. Trimming is idempotent, so two workers trimming at once do no harm.
"""

from __future__ import annotations

import redis
from rq.registry import BaseRegistry, FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.registry import RegisteredJob


def trim_registry(registry: BaseRegistry, keep: int) -> int:
    """Delete the oldest jobs beyond `keep`; returns how many were removed."""
    connection = registry.connection
    excess = connection.zcard(registry.key) - keep
    if excess <= 0:
        return 0
    oldest = [registry.parse_job_id(raw) for raw in connection.zrange(registry.key, 0, excess - 1)]
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
