"""One place that wires the core together for a process (CLI command, headless worker or GUI).

Everything is created on first use, so `memo-desktop memos` never starts Redis and `memo-desktop health` never
starts the object store. `close()` releases what this process acquired (embedded services stop when their last
user is gone).
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Iterable

import redis

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError
from memo_desktop.core.jobs import runtime
from memo_desktop.core.jobs.client import JobQueue
from memo_desktop.core.jobs.contract import QueueKind, queue_name
from memo_desktop.core.jobs.registry import load_job_modules
from memo_desktop.core.library import Library
from memo_desktop.core.secrets import S3_SECRET_KEY, get_secret, secret_location
from memo_desktop.core.services import ObjectStoreServer, RedisServer
from memo_desktop.core.storage import ObjectStore, StoreConfig
from memo_desktop.core.transcribe.setup import check_transcription_setup
from memo_desktop.core.workers.pool import WorkerPool


log = logging.getLogger(__name__)


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

    # -- queues -------------------------------------------------------------------------------------------------------
    @cached_property
    def jobs(self) -> JobQueue:
        return JobQueue(self.redis, self.settings)

    def queue_names(self, kinds: Iterable[QueueKind] = tuple(QueueKind)) -> list[str]:
        """The RQ queues this machine's workers serve (uploads only from this device's queue)."""
        return [queue_name(kind, self.settings.device) for kind in kinds]

    def start_workers(self, kinds: Iterable[QueueKind] = tuple(QueueKind), *, concurrency: int | None = None,
                      name: str | None = None, burst: bool = False) -> WorkerPool:
        """Start a worker pool in this process; its jobs run against this context.

        A `transcribe_model` setting that names no usable model is a ConfigError here, before any job fails on it.
        """
        kinds = tuple(kinds)
        load_job_modules(self.settings.job_modules)
        if QueueKind.PROCESS in kinds:
            log.info(check_transcription_setup(self.settings).describe())
        runtime.set_context(self)
        return WorkerPool(self.redis, self.settings, self.queue_names(kinds), concurrency=concurrency, name=name,
                          burst=burst).start()

    # -- memo library and object store -----------------------------------------------------------------------------
    @cached_property
    def library(self) -> Library:
        return Library.from_settings(self.settings)

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
            with self._lock:
                address = self.object_store_server.acquire()
                self._closers.append(self.object_store_server.release)
            credentials = self.object_store_server.credentials()
            config = StoreConfig.from_settings(settings, secret_key=credentials.secret_key, endpoint=address,
                                               access_key=credentials.access_key,
                                               region=ObjectStoreServer.region)
        store = ObjectStore(config)
        self._closers.append(store.close)
        return store

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()
