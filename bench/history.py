"""A large job history for the benchmarks (they run as `python bench/<name>.py`, so this is importable as
`history`): one real completed job, its hash copied in bulk."""

from __future__ import annotations

import time

import redis
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.client import JobQueue


def fill_history(conn: redis.Redis, jobs: JobQueue, queue_name: str, function: str, total: int) -> None:
    """`total` completed jobs in `queue_name`'s history (its normal lane for this user: see core.queueing.lanes),
    pipelined, 5,000 commands a round trip."""
    lane = jobs.lane_for(queue_name).name
    registry = FinishedJobRegistry(lane, connection=conn, serializer=JSONSerializer)
    template_id = jobs.enqueue_function(queue_name, function, {"value": "history"}, title="history")
    queue = jobs.queue(lane)
    job = queue.fetch_job(template_id)
    queue.remove(template_id)
    job.set_status("finished")
    conn.zadd(registry.key, {template_id: time.time()})
    fields = conn.hgetall(job.key)
    have = conn.zcard(registry.key)
    now = time.time()
    pipe = conn.pipeline(transaction=False)
    for i in range(have, total):
        job_id = f"history-{i:06d}"
        pipe.hset(f"rq:job:{job_id}", mapping={**fields, b"status": b"finished"})
        pipe.zadd(registry.key, {job_id: now - i * 0.001})
        if i % 5000 == 0:
            pipe.execute()
    pipe.execute()
