"""What a worker pool's threads need to know before each dequeue: the lanes of their queues and which queues are
paused, read from Redis at most every `refresh_seconds` for the whole pool (one round trip, shared by its threads).

Workers wait on every priority's lane of every user they know of, whether the lane exists yet or not (a BLPOP on a
missing key costs nothing), so a known user's first high job is taken at the next free slot. A user never seen
before is known within `refresh_seconds` (or one dequeue poll, for an idle worker); a pause takes effect as quickly.
"""

from __future__ import annotations

import threading
import time
from typing import Sequence

import redis

from memo_desktop.core.jobs.client import PAUSED_QUEUES_KEY
from memo_desktop.core.queueing.lanes import QUEUE_PREFIX, QUEUES_KEY, Lane, base_of, lanes_of, serving_order
from memo_desktop.core.queueing.priorities import Priority

REFRESH_SECONDS = 0.5


class LaneView:
    def __init__(self, connection: redis.Redis, queues: Sequence[str], refresh_seconds: float = REFRESH_SECONDS
                 ) -> None:
        self._connection = connection
        self.bases = [base_of(q) for q in queues]
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._lanes: list[Lane] = lanes_of((), self.bases)
        self._serving: list[Lane] = self._lanes
        self._paused: frozenset[str] = frozenset()

    def _current(self) -> tuple[list[Lane], frozenset[str]]:
        return self._read()[:2]

    def _read(self) -> tuple[list[Lane], frozenset[str], list[Lane]]:
        """(the lanes that exist, the paused queues, the lanes to serve: every priority of every known user)."""
        with self._lock:
            now = time.monotonic()
            if now - self._read_at >= self._refresh_seconds:
                with self._connection.pipeline(transaction=False) as pipe:
                    pipe.smembers(QUEUES_KEY)
                    pipe.smembers(PAUSED_QUEUES_KEY)
                    queue_keys, paused = pipe.execute()
                names = [raw.decode().removeprefix(QUEUE_PREFIX) for raw in queue_keys]
                self._lanes = lanes_of(names, self.bases)
                users = {lane.user for lane in map(Lane.parse, names) if lane.user is not None}
                self._serving = lanes_of([*names, *(Lane(b, p, u).name for b in self.bases for p in Priority
                                                    for u in users)], self.bases)
                self._paused = frozenset(p.decode() for p in paused)
                self._read_at = now
            return self._lanes, self._paused, self._serving

    def serving(self, after_user: str | None = None, skip_users: frozenset[str] = frozenset()) -> list[Lane]:
        """The lanes to dequeue from, in order: unpaused queues only, without the users in `skip_users`."""
        _, paused, lanes = self._read()
        wanted = [lane for lane in lanes if lane.base not in paused and lane.name not in paused
                  and lane.user not in skip_users]
        return serving_order(wanted, after_user)

    def lanes(self, queue: str) -> list[str]:
        """Every lane of `queue` known to this view (for retention across a queue's lanes)."""
        base = base_of(queue)
        lanes = [lane.name for lane in self._current()[0] if lane.base == base]
        return lanes if queue in lanes else [*lanes, queue]

    def all_lanes(self) -> list[str]:
        """Every lane of this view's queues, paused ones included (a retry still becomes due in a paused queue)."""
        return [lane.name for lane in self._current()[0]]

    def refresh(self) -> None:
        """Read again at the next use (after this pool queued into a lane it may not know yet)."""
        with self._lock:
            self._read_at = float("-inf")
