"""How numbers look in the app (durations, sizes, dates, levels): one place, so every view agrees."""

from __future__ import annotations

import time


def format_duration(seconds: float) -> str:
    """`0:07`, `12:34`, `1:02:03`."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_elapsed(seconds: float) -> str:
    """The recording clock: tenths of a second so it visibly runs."""
    whole = format_duration(seconds)
    return f"{whole}.{int(max(0.0, seconds) * 10) % 10}"


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def format_timestamp(epoch: float | None) -> str:
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def format_recent(epoch: float | None) -> str:
    """The time alone for today (job lists are mostly about now), the date and time otherwise."""
    if not epoch:
        return ""
    then = time.localtime(epoch)
    if time.strftime("%Y-%m-%d", then) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", then)
    return time.strftime("%Y-%m-%d %H:%M", then)


def format_progress(percent: int, seconds_left: float | None) -> str:
    """`42%`, or with an estimate `42% · 1:20 left` (`< 0:01 left` at the very end)."""
    if seconds_left is None:
        return f"{percent}%"
    left = format_duration(seconds_left) if seconds_left >= 1 else "< 0:01"
    return f"{percent}% · {left} left"
