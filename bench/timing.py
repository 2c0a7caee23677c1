"""Small timing helpers shared by the benchmark scripts (they run as `python bench/<name>.py`, so this is importable
as `timing`)."""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    import redis


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of `runs` calls, in seconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q`th percentile (0-100) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def command_calls(conn) -> int:
    """Redis commands served so far (INFO commandstats; the INFO calls themselves left out)."""
    return sum(stats["calls"] for name, stats in conn.info("commandstats").items() if name != "cmdstat_info")


def print_rows(rows: list[tuple[str, str]]) -> None:
    """The figures as an aligned two-column table, then the load average (other work skews every row)."""
    import os

    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:{width}}  {value}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine skews all rows)")


@contextmanager
def embedded_redis(prefix: str) -> Iterator[tuple[Path, str, "redis.Redis"]]:
    """A temporary dir with the app's own embedded redis-server in it (AOF on, unix socket), and a client."""
    import redis

    from memo_desktop.core.services import RedisServer

    with tempfile.TemporaryDirectory(prefix=prefix, dir="/tmp") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        url = server.acquire()
        conn = redis.Redis.from_url(url)
        try:
            yield Path(tmp), url, conn
        finally:
            conn.close()
            server.stop()
