"""Job events: every state change and progress change is published on one Redis channel.

Any client (the GUI's monitor, a CLI, another machine) subscribes to `CHANNEL`. Messages are small JSON objects;
a subscriber that was away catches up from the counts and job list, so events are hints, never the only record.

A process holds one subscription (`EventHub`) and shares it among its consumers (the queue watcher, the result
collector, the web event stream).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import redis

from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.redis_errors import REDIS_FAILURES
from memo_desktop.core.threads import join_thread

CHANNEL = "memo-desktop:job-events"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    queue: str
    state: str
    progress: int = 0
    error: str = ""
    timestamp: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> JobEvent:
        data = json.loads(raw)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def publish(connection: redis.Redis, job_id: str, queue: str, state: JobState | str, progress: int = 0,
            error: str = "", pipeline: Any = None) -> None:
    """Publish one event (on `pipeline` when given, so it goes out with the state change it describes)."""
    event = JobEvent(job_id, queue, JobState(state).value, int(progress), error[:500], time.time())
    (pipeline if pipeline is not None else connection).publish(CHANNEL, event.to_json())


class EventSubscriber:
    """A thread that delivers every job event to `callback`; reconnects with backoff when Redis goes away.

    `callback` runs on the subscriber thread: it must be quick and must not touch widgets (hand data on).
    `on_connection(bool)` is told when the subscription is lost or back.
    """

    def __init__(self, connection: redis.Redis, callback: Callable[[JobEvent], None],
                 on_connection: Callable[[bool], None] | None = None, name: str = "job-events") -> None:
        self._connection = connection
        self._callback = callback
        self._on_connection = on_connection or (lambda connected: None)
        self._name = name
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EventSubscriber:
        self._thread = threading.Thread(target=self.run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """True once subscribed (events published after that are delivered)."""
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 2.0) -> bool:
        self._stop.set()
        return join_thread(self._thread, timeout)

    def run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            pubsub = self._connection.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                self._ready.set()
                self._on_connection(True)
                delay = 0.2
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.25)
                    if message and message.get("type") == "message":
                        self._deliver(message["data"])
            except REDIS_FAILURES as exc:
                log.debug("event subscription lost: %s", exc)
                self._ready.clear()
                self._on_connection(False)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except REDIS_FAILURES:
                    pass

    def _deliver(self, raw: bytes) -> None:
        try:
            event = JobEvent.from_json(raw)
        except (ValueError, TypeError) as exc:
            log.warning("ignoring a malformed job event: %s", exc)
            return
        self._callback(event)


EventCallback = Callable[[JobEvent], None]
ConnectionCallback = Callable[[bool], None]


class EventHub:
    """The process's one subscription to the job-event channel, fanned out to every consumer.

    Consumers' callbacks run on the hub's thread, so they must only hand the event on (put it in their own queue);
    one that raises is logged and keeps its subscription. `on_connection(True)` after a lost subscription tells
    consumers they may have missed events (catch up from Redis state).
    """

    def __init__(self, connection: redis.Redis, name: str = "job-events") -> None:
        self._consumers: dict[int, tuple[EventCallback, ConnectionCallback | None]] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._subscriber = EventSubscriber(connection, self._on_event, self._on_connection, name=name)

    def subscribe(self, on_event: EventCallback, on_connection: ConnectionCallback | None = None
                  ) -> Callable[[], None]:
        """Add a consumer; returns the function that removes it."""
        with self._lock:
            self._next_id += 1
            consumer_id = self._next_id
            self._consumers[consumer_id] = (on_event, on_connection)

        def unsubscribe() -> None:
            with self._lock:
                self._consumers.pop(consumer_id, None)

        return unsubscribe

    def start(self) -> EventHub:
        self._subscriber.start()
        return self

    def wait_ready(self, timeout: float = 5.0) -> bool:
        return self._subscriber.wait_ready(timeout)

    def stop(self, timeout: float = 2.0) -> bool:
        return self._subscriber.stop(timeout)

    def _snapshot(self) -> list[tuple[EventCallback, ConnectionCallback | None]]:
        with self._lock:
            return list(self._consumers.values())

    def _on_event(self, event: JobEvent) -> None:
        for on_event, _ in self._snapshot():
            try:
                on_event(event)
            except Exception:  # noqa: BLE001 - one consumer's bug must not starve the others
                log.exception("a job-event consumer failed")

    def _on_connection(self, connected: bool) -> None:
        for _, on_connection in self._snapshot():
            if on_connection is not None:
                try:
                    on_connection(connected)
                except Exception:  # noqa: BLE001 - as above
                    log.exception("a job-event consumer failed")
