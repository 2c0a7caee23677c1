"""The services of one runtime generation: settings, Redis, the memo library and the object store.

Everything is created on first use, so `memo-desktop memos` never starts Redis and `memo-desktop health` never
starts the object store. Opening the library first recovers interrupted recordings (whatever the command). `close()`
releases what this context acquired (embedded services stop when their last user is gone). What *runs* (workers,
watchers, threads) is owned by `core.runtime.Runtime`, which holds one AppContext and hands it to its parts; job
functions receive it from the pool that runs them.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterable

import redis

from memo_desktop.core import redis_errors
from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError, RuntimeClosed
from memo_desktop.core.jobs.client import JobQueue
from memo_desktop.core.jobs.contract import QueueKind, queue_name
from memo_desktop.core.library import Library
from memo_desktop.core.secrets import S3_SECRET_KEY, get_secret, secret_location
from memo_desktop.core.services import ObjectStoreServer, RedisServer
from memo_desktop.core.storage import ObjectStore, StoreConfig

if TYPE_CHECKING:
    from memo_desktop.core.library import Memo
    from memo_desktop.core.recorder import RecoveredRecording

log = logging.getLogger(__name__)


class AppContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._library_lock = threading.Lock()
        self._library: Library | None = None
        self._closers: list[Callable[[], object]] = []
        self._closed = False
        # what opening the library recovered (interrupted recordings, now memos marked recovered)
        self.recovered: tuple[tuple[RecoveredRecording, Memo], ...] = ()

    # -- Redis ----------------------------------------------------------------------------------------------------
    @cached_property
    def redis_server(self) -> RedisServer:
        return RedisServer(self.settings.services_dir / "redis")

    @cached_property
    def redis_url(self) -> str:
        """The configured Redis, or the embedded one (started or reused, and held until `close()`)."""
        if self.settings.redis_url:
            return self.settings.redis_url
        return self._hold(self.redis_server)

    @cached_property
    def redis(self) -> redis.Redis:
        """A thread-safe client (a connection pool) with timeouts, so a dead Redis is an error, not a hang."""
        client = redis_errors.connect(self.redis_url)
        self._on_close(client.close)
        return client

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.settings.redis_url

    # -- queues -------------------------------------------------------------------------------------------------------
    @cached_property
    def jobs(self) -> JobQueue:
        return JobQueue(self.redis, self.settings)

    def queue_names(self, kinds: Iterable[QueueKind] = tuple(QueueKind)) -> list[str]:
        """The RQ queues this machine's workers serve (uploads only from this device's queue)."""
        return [queue_name(kind, self.settings.device) for kind in kinds]

    # -- memo library and object store -----------------------------------------------------------------------------
    @property
    def library(self) -> Library:
        """The memo library; the first use recovers interrupted recordings into it (see `core.recordings`)."""
        with self._library_lock:  # one opening (and one recovery pass) even when threads ask at once
            if self._library is None:
                from memo_desktop.core.recordings import recover_into_library  # it needs the library package

                library = Library.from_settings(self.settings)
                self.recovered = tuple(recover_into_library(library, self.settings))
                self._library = library
            return self._library

    def open_library(self) -> tuple[tuple[RecoveredRecording, Memo], ...]:
        """Open the library now, not at its first use; returns what the recovery pass recovered."""
        self.library  # noqa: B018 - the property opens it
        return self.recovered

    @property
    def uses_embedded_store(self) -> bool:
        return not self.settings.s3_endpoint

    @cached_property
    def object_store_server(self) -> ObjectStoreServer:
        return ObjectStoreServer(self.settings.services_dir / "object-store")

    @cached_property
    def object_store(self) -> ObjectStore:
        """The configured S3 endpoint, or the embedded one (started or reused, and held until `close()`)."""
        settings = self.settings
        if settings.s3_endpoint:
            secret_key = get_secret(settings, S3_SECRET_KEY)
            if not settings.s3_access_key or not secret_key:
                raise ConfigError(f"the object store {settings.s3_endpoint} needs credentials: set 's3_access_key' "
                                  f"and the secret key (looked up in {secret_location(settings)})")
            config = StoreConfig.from_settings(settings, secret_key=secret_key)
        else:
            address = self._hold(self.object_store_server)
            credentials = self.object_store_server.credentials()
            config = StoreConfig.from_settings(settings, secret_key=credentials.secret_key, endpoint=address,
                                               access_key=credentials.access_key,
                                               region=ObjectStoreServer.region)
        store = ObjectStore(config)
        self._on_close(store.close)
        return store

    # -- lifecycle ----------------------------------------------------------------------------------------------------
    def _hold(self, service: RedisServer | ObjectStoreServer) -> str:
        """Start or reuse an embedded service and hold a lease on it until `close()`."""
        with self._lock:
            if self._closed:  # a late caller must not take a lease that nobody would release
                raise RuntimeClosed(f"cannot start the embedded {service.name}: this context was closed")
            address = service.acquire()
            self._closers.append(service.release)
            return address

    def _on_close(self, closer: Callable[[], object]) -> None:
        with self._lock:
            self._closers.append(closer)

    def close(self) -> None:
        """Release everything acquired, newest first; one failure does not keep the others held."""
        with self._lock:
            self._closed = True
            closers, self._closers = self._closers, []
        for closer in reversed(closers):
            try:
                closer()
            except Exception:  # noqa: BLE001 - the rest must still be released
                log.exception("releasing %s failed", getattr(closer, "__qualname__", closer))
