"""A jobs-per-second limit enforced in Redis, so it holds across threads, processes and machines: one for everyone
(`rate_limit`) and one per user (`rate_limit_per_user`), the same mechanism on a key of its own.

Sliding one-second window kept in a sorted set of slots, timed by the Redis server's clock (machines may disagree on
time). A worker reserves a slot before it waits for a job, stamps it with the job's start time when one arrives, and
gives it back if none did, so idle polling costs nothing. The stamp matters: a slot reserved at the start of an idle
poll would otherwise leave the window up to a poll early and let a second burst in behind the first.

A user's limit is only known once a job is dequeued (its lane names its user): the worker takes a slot of that user
at once (`try_acquire`, scored from now), and when none is free it puts the job back at the head of its lane and
leaves that user's lanes alone until the window has room.
"""

from __future__ import annotations

import threading
import uuid

import redis

from memo_desktop.core.queueing.users import user_rate_limit_key

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

    def __init__(self, connection: redis.Redis, per_second: float, key: str = KEY) -> None:
        self.per_second = per_second
        self.key = key
        self._connection = connection
        self._acquire = connection.register_script(_ACQUIRE) if per_second > 0 else None
        self._stamp = connection.register_script(_STAMP) if per_second > 0 else None
        # the window is one second, so a fractional rate (0.5/s) becomes one slot per 1/rate seconds
        self._slots = max(1, int(per_second)) if per_second >= 1 else 1
        self._window_ms = WINDOW_MS if per_second >= 1 else int(WINDOW_MS / per_second) if per_second else WINDOW_MS

    def acquire(self, stop: threading.Event, hold: float = 0.0) -> str | None:
        """Block until a slot is free and reserve it for up to `hold` s (the longest the caller then waits for a
        job); returns its token, or None if `stop` was set while waiting. Follow with `started` or `release`."""
        while not stop.is_set():
            token, wait = self.try_acquire(hold)
            if token is not None:
                return token
            stop.wait(min(wait, 1.0))
        return None

    def try_acquire(self, hold: float = 0.0) -> tuple[str | None, float]:
        """Reserve a slot if one is free now: (its token, 0), else (None, seconds until one may be)."""
        if self._acquire is None:
            return "", 0.0
        token = uuid.uuid4().hex
        wait_ms = self._acquire(keys=[self.key], args=[self._slots, self._window_ms, token, int(hold * 1000)])
        return (token, 0.0) if wait_ms == 0 else (None, int(wait_ms) / 1000)

    def started(self, token: str | None) -> None:
        """The slot's job starts now: it counts for one window from here."""
        if token:
            self._stamp(keys=[self.key], args=[token, self._window_ms])

    def release(self, token: str | None) -> None:
        """Give an unused slot back (no job came)."""
        if token:
            self._connection.zrem(self.key, token)


class UserRateLimits:
    """`per_second` starts per user, each user's window in Redis (shared by every worker). 0 disables them."""

    def __init__(self, connection: redis.Redis, per_second: float) -> None:
        self.per_second = per_second
        self._connection = connection
        self._limiters: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def try_start(self, user: str) -> float:
        """Take a slot of `user` for a job starting now: 0, or the seconds until the user may start one."""
        with self._lock:
            limiter = self._limiters.get(user)
            if limiter is None:
                limiter = self._limiters[user] = RateLimiter(self._connection, self.per_second,
                                                             key=user_rate_limit_key(user))
        return limiter.try_acquire()[1]
