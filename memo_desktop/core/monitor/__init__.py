"""Queue and job snapshots and live job events, for any UI or CLI (no Qt here)."""

from memo_desktop.core.monitor.snapshot import (HealthSnapshot, JobRow, QueueCounts, WorkerRow, list_jobs,
                                                read_health)
from memo_desktop.core.monitor.watcher import QueueWatcher

__all__ = ["HealthSnapshot", "JobRow", "QueueCounts", "QueueWatcher", "WorkerRow", "list_jobs", "read_health"]
