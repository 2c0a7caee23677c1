"""Embedded services: a private redis-server and S3 server that the app starts, shares and stops."""

from memo_desktop.core.services.managed import ManagedService, ServiceStatus
from memo_desktop.core.services.redis_server import RedisServer

__all__ = ["ManagedService", "RedisServer", "ServiceStatus"]
