"""One place that wires the core together for a process (CLI command, headless worker or GUI).

Everything is created on first use, so `memo-desktop memos` never starts Redis and `memo-desktop health` never
starts the object store. `close()` releases what this process acquired (embedded services stop when their last
user is gone).
"""

from __future__ import annotations

import threading
from functools import cached_property

import redis

from memo_desktop.core.config import Settings
from memo_desktop.core.services import RedisServer


class AppContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._closers: list = []

    # -- Redis ----------------------------------------------------------------------------------------------------
    @cached_property
    def redis_server(self) -> RedisServer:
        return RedisServer(self.settings.services_dir / "redis")

    @cached_property
    def redis_url(self) -> str:
        """The configured Redis, or the embedded one (started or reused, and held until `close()`)."""
        if self.settings.redis_url:
            return self.settings.redis_url
        with self._lock:
            url = self.redis_server.acquire()
            self._closers.append(self.redis_server.release)
            return url

    @cached_property
    def redis(self) -> redis.Redis:
        """A thread-safe client (a connection pool) with timeouts, so a dead Redis is an error, not a hang."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=3,
                                      health_check_interval=30)
        self._closers.append(client.close)
        return client

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()
