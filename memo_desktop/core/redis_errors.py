"""The one boundary between redis-py's errors and the app's own (see `core.errors`).

    redis-py                                              the app
    AuthenticationError, AuthorizationError,              RedisAuthError   wrong password or user, or no permission
      NoPermissionError, "WRONGPASS"/"NOAUTH" answers
    ReadOnlyError                                         RedisReadOnly    a read-only replica
    TimeoutError                                          RedisUnavailable (timed out)
    ConnectionError (and the OSError under it)            RedisUnavailable (unreachable)
    a bad URL (ValueError from from_url)                  ConfigError
    any other RedisError                                  QueueError

Order matters: redis-py's AuthenticationError *is* a ConnectionError, so a wrong password reported as "Redis
unreachable" was the old bug. Core, CLI and GUI all go through here; nothing else names redis-py's exceptions
except to catch `REDIS_FAILURES` and hand them to `translate`.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import redis

from memo_desktop.core.errors import (ConfigError, QueueError, RedisAuthError, RedisReadOnly, RedisUnavailable)
from memo_desktop.core.secrets import mask_url

# What a loop that talks to Redis catches before it translates (socket errors can escape redis-py's wrapping).
REDIS_FAILURES = (redis.RedisError, OSError)

CONNECT_TIMEOUT = 3.0  # s to open a connection: a dead host is an error quickly, never a hang
SOCKET_TIMEOUT = 10.0  # s to wait for an answer

T = TypeVar("T")
_AUTH_WORDS = ("WRONGPASS", "NOAUTH", "NOPERM", "invalid password", "invalid username-password")


def describe(connection: redis.Redis | None) -> str:
    """Where a client points, safe to show (never the password)."""
    if connection is None:
        return "Redis"
    kwargs = connection.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"Redis at unix://{kwargs['path']}"
    return f"Redis at {kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def translate(exc: BaseException, where: str = "Redis") -> QueueError:
    """The app's error for a redis-py (or socket) failure; `where` says which Redis, e.g. `describe(client)`."""
    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (redis.AuthenticationError, redis.exceptions.AuthorizationError,
                        redis.exceptions.NoPermissionError)) \
            or (isinstance(exc, redis.ResponseError) and message.startswith(_AUTH_WORDS)):
        return RedisAuthError(f"{where} refused the credentials ({message}); check the user and password in "
                              "the 'redis_url' setting (MEMO_REDIS_URL)")
    if isinstance(exc, redis.ReadOnlyError):
        return RedisReadOnly(f"{where} is a read-only replica; point 'redis_url' at the primary")
    if isinstance(exc, redis.TimeoutError):
        return RedisUnavailable(f"{where} did not answer in time ({message})")
    if isinstance(exc, (redis.ConnectionError, OSError)):
        return RedisUnavailable(f"{where} is not reachable ({message})")
    return QueueError(f"{where} answered with an error: {message}")


@contextmanager
def redis_errors(connection: redis.Redis | None = None) -> Iterator[None]:
    """Run Redis calls; their failures leave as the app's errors."""
    try:
        yield
    except REDIS_FAILURES as exc:
        raise translate(exc, describe(connection)) from None


def translate_redis_errors(func: Callable[..., T]) -> Callable[..., T]:
    """Decorator for methods of objects with a `connection` attribute (the queue client)."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        with redis_errors(getattr(self, "connection", None)):
            return func(self, *args, **kwargs)

    return wrapper


def connect(url: str) -> redis.Redis:
    """A thread-safe client (a connection pool) with timeouts. Connects lazily; a malformed URL is a ConfigError."""
    try:
        return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
                                    health_check_interval=30)
    except ValueError as exc:
        raise ConfigError(f"setting 'redis_url' is not a usable Redis URL ({mask_url(url)}): {exc}") from None


def ping(connection: redis.Redis) -> None:
    """Does this Redis answer us? Raises RedisUnavailable / RedisAuthError / RedisReadOnly."""
    with redis_errors(connection):
        connection.ping()


def check_url(url: str) -> None:
    """One connection test of a Redis URL (the settings dialog's "Test connection"); the client is closed after."""
    client = connect(url)
    try:
        ping(client)
    finally:
        client.close()
