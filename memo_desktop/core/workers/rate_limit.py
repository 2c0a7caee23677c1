"""A jobs-per-second limit enforced in Redis, so it holds across threads, processes and machines.

Sliding one-second window kept in a sorted set of slots, timed by the Redis server's clock (machines may disagree on
time). A worker reserves a slot before it waits for a job, stamps it with the job's start time when one arrives, and
gives it back if none did, so idle polling costs nothing. The stamp matters: a slot reserved at the start of an idle
poll would otherwise leave the window up to a poll early and let a second burst in behind the first.
"""

from __future__ import annotations

import threading
import uuid

import redis

KEY = "memo-desktop:rate-limit"
WINDOW_MS = 1000

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] slots; ARGV: slots per window, window ms, token, reservation ms. Returns 0, or ms to wait.
# A reserved slot is scored at its reservation's end, so it stays counted until used or released.
_ACQUIRE = _NOW_MS + """
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 2 + tonumber(ARGV[4]))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

# KEYS[1] slots; ARGV: token, window ms. The slot now counts from this moment, the job's start.
_STAMP = _NOW_MS + """
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 0
"""


class RateLimiter:
    """At most `per_second` slots per sliding second, shared by everyone on the Redis. 0 disables it."""

    def __init__(self, connection: redis.Redis, per_second: float) -> None:
        self.per_second = per_second
        self._connection = connection
        self._acquire = connection.register_script(_ACQUIRE) if per_second > 0 else None
        self._stamp = connection.register_script(_STAMP) if per_second > 0 else None
        # the window is one second, so a fractional rate (0.5/s) becomes one slot per 1/rate seconds
        self._slots = max(1, int(per_second)) if per_second >= 1 else 1
        self._window_ms = WINDOW_MS if per_second >= 1 else int(WINDOW_MS / per_second) if per_second else WINDOW_MS

    def acquire(self, stop: threading.Event, hold: float = 0.0) -> str | None:
        """Block until a slot is free and reserve it for up to `hold` s (the longest the caller then waits for a
        job); returns its token, or None if `stop` was set while waiting. Follow with `started` or `release`."""
        if self._acquire is None:
            return ""
        token = uuid.uuid4().hex
        while not stop.is_set():
            wait_ms = self._acquire(keys=[KEY], args=[self._slots, self._window_ms, token, int(hold * 1000)])
            if wait_ms == 0:
                return token
            stop.wait(min(int(wait_ms), 1000) / 1000)
        return None

    def started(self, token: str | None) -> None:
        """The slot's job starts now: it counts for one window from here."""
        if token:
            self._stamp(keys=[KEY], args=[token, self._window_ms])

    def release(self, token: str | None) -> None:
        """Give an unused slot back (no job came)."""
        if token:
            self._connection.zrem(KEY, token)
