"""Embedded services: a private redis-server and S3 server that the app starts, shares and stops."""

from memo_desktop.core.services.managed import ManagedService, ServiceStatus
from memo_desktop.core.services.object_store_server import ObjectStoreServer
from memo_desktop.core.services.redis_server import RedisServer

__all__ = ["ManagedService", "ObjectStoreServer", "RedisServer", "ServiceStatus"]
