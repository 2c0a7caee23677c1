"""Job events: every state change and progress change is published on one Redis channel.

Any client (the GUI's monitor, a CLI, another machine) subscribes to `CHANNEL`. Messages are small JSON objects;
a subscriber that was away catches up from the counts and job list, so events are hints, never the only record.
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
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def start(self) -> EventSubscriber:
        self._thread.start()
        return self

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """True once subscribed (events published after that are delivered)."""
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

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
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.debug("event subscription lost: %s", exc)
                self._ready.clear()
                self._on_connection(False)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass

    def _deliver(self, raw: bytes) -> None:
        try:
            event = JobEvent.from_json(raw)
        except (ValueError, TypeError) as exc:
            log.warning("ignoring a malformed job event: %s", exc)
            return
        self._callback(event)
