"""What a worker pool's threads need to know before each dequeue: the lanes of their queues and which queues are
paused, read from Redis at most every `refresh_seconds` for the whole pool (one round trip, shared by its threads).

Workers wait on every priority's lane of every user they know of, whether the lane exists yet or not (a BLPOP on a
missing key costs nothing), so a known user's first high job is taken at the next free slot. A user never seen
before is known within `refresh_seconds` (or one dequeue poll, for an idle worker); a pause takes effect as quickly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Sequence

import redis

from memo_desktop.core.jobs.client import PAUSED_QUEUES_KEY
from memo_desktop.core.queueing.lanes import QUEUE_PREFIX, QUEUES_KEY, Lane, base_of, lanes_of, serving_order
from memo_desktop.core.queueing.priorities import Priority

REFRESH_SECONDS = 0.5


@dataclass(frozen=True)
class Serving:
    """The lanes to dequeue from, in order, and their Redis keys (what one BLPOP is given)."""

    lanes: tuple[Lane, ...]
    keys: tuple[str, ...]

    def lane_of(self, key: str) -> Lane:
        return self.lanes[self.keys.index(key)] if key in self.keys else Lane.parse(key.removeprefix(QUEUE_PREFIX))


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
        # worked out once per read, not once per dequeue: the orders asked for, each queue's lanes
        self._orders: dict[tuple[str | None, frozenset[str]], Serving] = {}
        self._by_queue: dict[str, list[str]] = {}

    def _refresh_if_stale(self) -> None:
        """Read the lanes and paused queues again when the last read is older than `refresh_seconds` (caller holds
        the lock)."""
        now = time.monotonic()
        if now - self._read_at < self._refresh_seconds:
            return
        with self._connection.pipeline(transaction=False) as pipe:
            pipe.smembers(QUEUES_KEY)
            pipe.smembers(PAUSED_QUEUES_KEY)
            queue_keys, paused = pipe.execute()
        names = [raw.decode().removeprefix(QUEUE_PREFIX) for raw in queue_keys]
        self._lanes = lanes_of(names, self.bases)  # the lanes that exist
        users = {lane.user for lane in map(Lane.parse, names) if lane.user is not None}
        # the lanes to serve: every priority of every known user, whether the lane exists yet or not
        self._serving = lanes_of([*names, *(Lane(b, p, u).name for b in self.bases for p in Priority
                                            for u in users)], self.bases)
        self._paused = frozenset(p.decode() for p in paused)
        self._orders.clear()
        self._by_queue.clear()
        self._read_at = now

    def serving(self, after_user: str | None = None, skip_users: frozenset[str] = frozenset()) -> Serving:
        """The lanes to dequeue from, in order: unpaused queues only, without the users in `skip_users`."""
        with self._lock:
            self._refresh_if_stale()
            order = self._orders.get((after_user, skip_users))
            if order is None:
                wanted = [lane for lane in self._serving if lane.base not in self._paused
                          and lane.name not in self._paused and lane.user not in skip_users]
                lanes = tuple(serving_order(wanted, after_user))
                order = self._orders[(after_user, skip_users)] = Serving(lanes, tuple(lane.key for lane in lanes))
            return order

    def lanes(self, queue: str) -> list[str]:
        """Every lane of `queue` known to this view (for retention across a queue's lanes)."""
        with self._lock:
            self._refresh_if_stale()
            lanes = self._by_queue.get(queue)
            if lanes is None:
                base = base_of(queue)
                lanes = [lane.name for lane in self._lanes if lane.base == base]
                lanes = self._by_queue[queue] = lanes if queue in lanes else [*lanes, queue]
            return lanes

    def all_lanes(self) -> list[str]:
        """Every lane of this view's queues, paused ones included (a retry still becomes due in a paused queue)."""
        with self._lock:
            self._refresh_if_stale()
            return [lane.name for lane in self._lanes]

