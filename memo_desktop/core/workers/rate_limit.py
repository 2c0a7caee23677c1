"""A jobs-per-second limit enforced in Redis, so it holds across threads, processes and machines.

Sliding one-second window kept in a sorted set, timed by the Redis server's clock (machines may disagree on time).
A worker takes a slot before it dequeues and gives it back if the queue was empty, so idle polling costs nothing.
"""

from __future__ import annotations

import threading
import uuid

import redis

KEY = "memo-desktop:rate-limit"
WINDOW_MS = 1000

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RateLimiter:
    """At most `per_second` slots per sliding second, shared by everyone on the Redis. 0 disables it."""

    def __init__(self, connection: redis.Redis, per_second: float) -> None:
        self.per_second = per_second
        self._connection = connection
        self._script = connection.register_script(_ACQUIRE) if per_second > 0 else None
        # the window is one second, so a fractional rate (0.5/s) becomes one slot per 1/rate seconds
        self._slots = max(1, int(per_second)) if per_second >= 1 else 1
        self._window_ms = WINDOW_MS if per_second >= 1 else int(WINDOW_MS / per_second) if per_second else WINDOW_MS

    def acquire(self, stop: threading.Event) -> str | None:
        """Block until a slot is free; returns its token, or None if `stop` was set while waiting."""
        if self._script is None:
            return ""
        token = uuid.uuid4().hex
        while not stop.is_set():
            wait_ms = self._script(keys=[KEY], args=[self._slots, self._window_ms, token])
            if wait_ms == 0:
                return token
            stop.wait(min(int(wait_ms), 1000) / 1000)
        return None

    def release(self, token: str | None) -> None:
        """Give an unused slot back (the dequeue found nothing)."""
        if token:
            self._connection.zrem(KEY, token)
