"""Prometheus metrics for the whole cluster, read from Redis at scrape time (a custom collector, not counters kept in
each process), so one scrape of any `serve` covers every worker on the Redis.

Names follow rq-exporter (its Grafana dashboard works): `rq_jobs{queue,status}`, `rq_workers{name,state,queues}`,
`rq_workers_success_total`, `rq_workers_failed_total`, `rq_workers_working_time_total{name,queues}`; and our own:
`memo_desktop_job_duration_seconds{queue,operation}` (histogram, fed by every worker: `core.outcomes`),
`memo_desktop_dead_letter_jobs{queue}`, `memo_desktop_webhook_deliveries_total{result}`,
`memo_desktop_alert_active{alert}`, `memo_desktop_queue_workers{queue}` (for "no worker on a queue with waiting
jobs"), `memo_desktop_redis_up`.

A scrape costs one pipelined round trip for the counts (LLEN/ZCARD, never a registry scan), one for the histogram,
alerts and deliveries, and one per worker (rq's worker hashes): flat in the number of jobs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable, Iterable, Iterator, Mapping

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from rq import Queue, Worker
from rq.registry import (CanceledJobRegistry, DeferredJobRegistry, FailedJobRegistry, FinishedJobRegistry,
                         ScheduledJobRegistry, StartedJobRegistry)
from rq.serializers import JSONSerializer

from memo_desktop.core.alerts import ALERT_KEYS
from memo_desktop.core.monitor.snapshot import known_queue_names
from memo_desktop.core.outcomes import DURATION_BUCKETS, DURATION_KEY, FIELD_SEPARATOR
from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.lanes import base_of
from memo_desktop.core.redis_errors import REDIS_FAILURES
from memo_desktop.core.webhooks.delivery import DELIVERIES_KEY

log = logging.getLogger(__name__)

# rq's status names (rq-exporter's `status` label) and the key holding each
_STATUS_KEYS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("queued", lambda q: Queue.redis_queue_namespace_prefix + q),
    ("started", lambda q: StartedJobRegistry.key_template.format(q)),
    ("scheduled", lambda q: ScheduledJobRegistry.key_template.format(q)),
    ("deferred", lambda q: DeferredJobRegistry.key_template.format(q)),
    ("finished", lambda q: FinishedJobRegistry.key_template.format(q)),
    ("failed", lambda q: FailedJobRegistry.key_template.format(q)),
    ("canceled", lambda q: CanceledJobRegistry.key_template.format(q)),
)
DELIVERY_RESULTS = ("delivered", "failed")


def dead_letter_counts(connection: redis.Redis, queues: Iterable[str]) -> Mapping[str, int]:
    """Jobs kept in the dead-letter queue, per queue (its base name: a queue's lanes share one), 0 for a known queue
    without any (core.queueing.dead_letters)."""
    counts = {base_of(queue): 0 for queue in queues}
    counts.update(dead_letters.counts(connection))
    return counts


class MetricsCollector(Collector):
    def __init__(self, connection: redis.Redis, local_queue_names: list[str]) -> None:
        self._connection = connection
        self._local_names = local_queue_names

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("memo_desktop_redis_up", "1 when this server could read the cluster's Redis")
        try:
            metrics = list(self._read())
        except REDIS_FAILURES as exc:
            log.warning("metrics: Redis unreachable (%s)", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> Iterator[Metric]:
        connection = self._connection
        queues = known_queue_names(connection, self._local_names)
        with connection.pipeline(transaction=False) as pipe:
            for queue in queues:
                for status, key in _STATUS_KEYS:
                    (pipe.llen if status == "queued" else pipe.zcard)(key(queue))
            pipe.hgetall(DURATION_KEY)
            pipe.hgetall(DELIVERIES_KEY)
            for key in ALERT_KEYS.values():
                pipe.exists(key)
            raw = pipe.execute()
        width = len(_STATUS_KEYS)
        # by queue, its lanes (one RQ queue per priority and user: core.queueing.lanes) summed, so the labels are the
        # queues workers listen on (memo_desktop_queue_workers) and the alerting rules can compare the two
        totals: dict[tuple[str, str], int] = {}
        for i, queue in enumerate(queues):
            for j, (status, _) in enumerate(_STATUS_KEYS):
                key = (base_of(queue), status)
                totals[key] = totals.get(key, 0) + int(raw[i * width + j])
        jobs = GaugeMetricFamily("rq_jobs", "RQ jobs by queue and status", labels=["queue", "status"])
        for (queue, status), count in sorted(totals.items()):
            jobs.add_metric([queue, status], count)
        yield jobs
        rest = raw[len(queues) * width:]
        queues = sorted({base_of(queue) for queue in queues})
        yield _histogram(rest[0])
        deliveries = CounterMetricFamily("memo_desktop_webhook_deliveries", "Webhook delivery attempts by result",
                                         labels=["result"])
        counted = {k.decode(): int(v) for k, v in rest[1].items()}
        for result in DELIVERY_RESULTS:
            deliveries.add_metric([result], counted.get(result, 0))
        yield deliveries
        alerts = GaugeMetricFamily("memo_desktop_alert_active", "1 while the alert is active", labels=["alert"])
        for name, active in zip(ALERT_KEYS, rest[2:]):
            alerts.add_metric([name], int(active))
        yield alerts
        dead = GaugeMetricFamily("memo_desktop_dead_letter_jobs", "Jobs in the dead-letter queue", labels=["queue"])
        for queue, count in sorted(dead_letter_counts(connection, queues).items()):
            dead.add_metric([queue], count)
        yield dead
        yield from _workers(connection, queues)


def _histogram(raw: Mapping[bytes, bytes]) -> HistogramMetricFamily:
    family = HistogramMetricFamily("memo_desktop_job_duration_seconds", "Job run time, every worker on the Redis",
                                   labels=["queue", "operation"])
    series: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for field, value in raw.items():
        queue, operation, part = field.decode().split(FIELD_SEPARATOR)
        series[(queue, operation)][part] = float(value)
    bounds = [repr(b) for b in DURATION_BUCKETS] + ["+Inf"]
    for (queue, operation), parts in sorted(series.items()):
        running, buckets = 0.0, []
        for index, bound in enumerate(bounds):
            running += parts.get(str(index), 0.0)
            buckets.append((bound, running))
        family.add_metric([queue, operation], buckets, parts.get("sum", 0.0))
    return family


def _workers(connection: redis.Redis, queues: list[str]) -> Iterator[Metric]:
    state = GaugeMetricFamily("rq_workers", "RQ workers", labels=["name", "state", "queues"])
    success = CounterMetricFamily("rq_workers_success", "Jobs a worker completed", labels=["name", "queues"])
    failed = CounterMetricFamily("rq_workers_failed", "Jobs a worker failed", labels=["name", "queues"])
    working = CounterMetricFamily("rq_workers_working_time", "Seconds a worker spent on jobs",
                                  labels=["name", "queues"])
    serving = GaugeMetricFamily("memo_desktop_queue_workers", "Workers listening on each queue (0: nobody takes "
                                "its jobs)", labels=["queue"])
    per_queue = dict.fromkeys(queues, 0)
    for worker in Worker.all(connection=connection, serializer=JSONSerializer):
        names = worker.queue_names()
        queues_label = ",".join(names)
        state.add_metric([worker.name, str(worker.get_state()), queues_label], 1)
        success.add_metric([worker.name, queues_label], worker.successful_job_count or 0)
        failed.add_metric([worker.name, queues_label], worker.failed_job_count or 0)
        working.add_metric([worker.name, queues_label], float(worker.total_working_time or 0))
        for name in names:
            per_queue[name] = per_queue.get(name, 0) + 1
    for name, count in sorted(per_queue.items()):
        serving.add_metric([name], count)
    yield from (state, success, failed, working, serving)


def metrics_registry(connection: redis.Redis, local_queue_names: list[str]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(connection, local_queue_names))
    return registry
