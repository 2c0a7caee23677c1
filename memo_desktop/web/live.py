"""Job events and counts fanned out to every open event stream (`GET /api/queue/events`).

The feed is filled by one `QueueWatcher` on the runtime's event hub (the process's one subscription): job events as
they happen, and fresh counts after each burst (coalesced, at most every 0.1 s; every 2 s when idle, to notice
other machines and Redis coming back). Each stream has a bounded queue on its own event loop; a stream that falls
that far behind is ended, and the browser's EventSource reconnects and starts from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.monitor import HealthSnapshot, QueueWatcher

CLIENT_BACKLOG = 512  # messages a stream may lag behind before it is ended
END = None  # the message that ends a stream


def event_dict(event: JobEvent) -> dict[str, Any]:
    return {"jobId": event.job_id, "queue": event.queue, "state": event.state, "progress": event.progress,
            "error": event.error, "timestamp": event.timestamp}


@dataclass(eq=False)
class Stream:
    loop: asyncio.AbstractEventLoop
    messages: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(CLIENT_BACKLOG))

    def offer(self, message: str | None) -> None:
        """On the stream's loop."""
        try:
            self.messages.put_nowait(message)
        except asyncio.QueueFull:  # far behind: end it (the browser reconnects to a fresh snapshot)
            while not self.messages.empty():
                self.messages.get_nowait()
            self.messages.put_nowait(END)


def sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


class LiveFeed:
    def __init__(self, snapshot_json: Callable[[HealthSnapshot], dict[str, Any]]) -> None:
        self._snapshot_json = snapshot_json
        self._streams: set[Stream] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.latest: str | None = None  # the last counts message: what a new stream starts from

    def open(self) -> Stream:
        stream = Stream(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                stream.offer(END)
            else:
                self._streams.add(stream)
                if self.latest is not None:
                    stream.offer(self.latest)
        return stream

    def close_stream(self, stream: Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        with self._lock:
            self._closed = True
        self._broadcast(END)

    # watcher thread
    def snapshot_taken(self, snapshot: HealthSnapshot) -> None:
        message = sse("counts", self._snapshot_json(snapshot))
        self.latest = message
        self._broadcast(message)

    def job_events(self, events: Sequence[JobEvent]) -> None:
        self._broadcast(sse("jobs", [event_dict(e) for e in events]))

    def _broadcast(self, message: str | None) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            try:
                stream.loop.call_soon_threadsafe(stream.offer, message)
            except RuntimeError:  # its loop has closed
                self.close_stream(stream)


class LiveFeedPart:
    """The runtime part (a Redis part) that feeds a LiveFeed from the runtime's event hub."""

    name = "web live feed"

    def __init__(self, feed: LiveFeed, watcher: QueueWatcher) -> None:
        self._feed = feed
        self._watcher = watcher

    def start(self) -> LiveFeedPart:
        self._watcher.start()
        return self

    def stop(self, timeout: float) -> bool:
        return self._watcher.stop(timeout)
