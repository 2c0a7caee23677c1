"""The runtime part that turns job events (and alert transitions) into webhook deliveries, and the pool that sends
them (see the package docstring for who enqueues and who delivers)."""

from __future__ import annotations

import logging
import queue as queue_module
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

from memo_desktop.core.alerts import Alert
from memo_desktop.core.errors import JobNotFound, MemoError
from memo_desktop.core.jobs.contract import WEBHOOK_QUEUE, DEVICE_SEPARATOR
from memo_desktop.core.jobs.events import EventHub, JobEvent
from memo_desktop.core.monitor.snapshot import memo_id_of
from memo_desktop.core.threads import join_thread, start_thread
from memo_desktop.core.webhooks.delivery import delivery_queue, dispatch
from memo_desktop.core.webhooks.registry import Webhook, WebhookRegistry

if TYPE_CHECKING:
    from memo_desktop.core.context import AppContext
    from memo_desktop.core.workers.pool import WorkerPool

log = logging.getLogger(__name__)

HOOKS_CACHE_SECONDS = 2.0  # a webhook added elsewhere gets events within this (not one HGETALL per event)
DELIVERY_THREADS = 2


def job_event_data(ctx: AppContext, event: JobEvent) -> dict[str, Any]:
    """`data` of a job event: jobId, queue, state, memoId, title and result or error."""
    data: dict[str, Any] = {"jobId": event.job_id, "queue": event.queue, "state": event.state}
    try:
        info = ctx.jobs.status(event.job_id)
    except JobNotFound:  # trimmed by retention already: what the event says is all there is
        data["memoId"] = None
        if event.state == "failed":
            data["error"] = event.error
        return data
    data.update(memoId=memo_id_of(info.payload) or None, title=info.title or None)
    if event.state == "failed":
        data["error"] = info.error or event.error
    else:
        data["result"] = info.result
    return data


class WebhookDispatcher:
    name = "webhook dispatcher"

    def __init__(self, ctx: AppContext, hub: EventHub) -> None:
        self._ctx = ctx
        self._hub = hub
        self._registry = WebhookRegistry(ctx.redis, ctx.settings)
        self._inbox: queue_module.SimpleQueue[Callable[[], None] | None] = queue_module.SimpleQueue()
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._hooks_read = -HOOKS_CACHE_SECONDS
        self._hooks: list[Webhook] = []

    def start(self) -> WebhookDispatcher:
        self._unsubscribe = self._hub.subscribe(self._on_event)
        self._thread = start_thread(self._run, "webhook-dispatcher")
        return self

    def stop(self, timeout: float) -> bool:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._inbox.put(None)
        return join_thread(self._thread, timeout)

    # hub and evaluator threads: hand on only
    def _on_event(self, event: JobEvent) -> None:
        if event.state in ("completed", "failed") and event.queue.split(DEVICE_SEPARATOR, 1)[0] != WEBHOOK_QUEUE:
            self._inbox.put(lambda: self.dispatch_job_event(event))

    def alert_transition(self, kind: str, alert: Alert) -> None:
        """For the alert evaluator: this process made the transition, so it enqueues the events."""
        self._inbox.put(lambda: self.dispatch_alert(kind, alert))

    def _run(self) -> None:
        while not self._stop.is_set():
            task = self._inbox.get()
            if task is None:
                continue
            try:
                task()
            except MemoError as exc:  # Redis away: this event's deliveries are lost, which the log says
                log.warning("webhook deliveries not queued: %s", exc)
            except Exception:  # noqa: BLE001 - one bad event must not end the dispatcher
                log.exception("webhook dispatch failed")

    def _wanted(self, event_type: str) -> list[Webhook]:
        """The webhooks subscribed to `event_type`, as read at most HOOKS_CACHE_SECONDS ago (one read, not one per
        event: a burst of job ends costs one HVALS)."""
        now = time.monotonic()
        if now - self._hooks_read >= HOOKS_CACHE_SECONDS:
            self._hooks = self._registry.list()
            self._hooks_read = now
        return [hook for hook in self._hooks if event_type in hook.events]

    def dispatch_job_event(self, event: JobEvent) -> list[str]:
        event_type = f"job.{event.state}"
        hooks = self._wanted(event_type)
        if not hooks:
            return []
        event_id = f"{event.job_id}:{event.state}:{event.timestamp!r}"  # the same message heard by every process
        return dispatch(self._registry, self._ctx.jobs, event_type, lambda: job_event_data(self._ctx, event),
                        event_id, event.timestamp, hooks)

    def dispatch_alert(self, kind: str, alert: Alert) -> list[str]:
        event_type = "alert.failure_rate" if kind == "fired" else "alert.resolved"
        hooks = self._wanted(event_type)
        if not hooks:
            return []
        return dispatch(self._registry, self._ctx.jobs, event_type, alert.as_dict,
                        f"{alert.name}:{alert.since!r}:{kind}", hooks=hooks)


class WebhookWorkers:
    """The pool that delivers the webhooks homed on this machine: its own threads and no share of the uploads' rate
    limit, so a slow endpoint never delays another job."""

    name = "webhook workers"

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self.pool: WorkerPool | None = None

    def start(self) -> WebhookWorkers:
        from memo_desktop.core.workers.pool import WorkerPool

        device = self._ctx.settings.device
        self.pool = WorkerPool(self._ctx, [delivery_queue(device)], concurrency=DELIVERY_THREADS,
                               name=f"webhooks-{device}-{uuid.uuid4().hex[:6]}", rate_limit=0).start()
        return self

    def stop(self, timeout: float) -> bool:
        return self.pool.stop(timeout) if self.pool is not None else True
