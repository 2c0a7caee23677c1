"""Schedules: run an action on a library at the times of a cron expression (local time).

    memo-desktop schedule add nightly --cron "0 3 * * *" --action analyze-unanalyzed

Who runs them: a schedule belongs to a device (the `device` setting), i.e. to one machine's memo library, because
its actions act on that library's memos (queue their analysis, purge their local audio...). Every process of that
device that has the library open (the GUI, a headless `memo-desktop worker` serving its uploads, `serve`) runs a
ticker; each tick is claimed in Redis by exactly one of them (an atomic compare-and-set of the schedule's last tick),
so a tick runs once however many processes run. A process that starts after ticks were missed (nothing ran) runs
the schedule once for the latest of them (a catch-up), never once per missed tick.

Schedules live in Redis, so any process on the Redis (the web page on another machine too) can list, add and remove
them; only the owning device runs them.

Redis layout, per device:
    memo-desktop:schedules:<device>              hash  name -> the schedule as JSON
    memo-desktop:schedule-ticks:<device>         hash  name -> the last tick claimed (epoch s)
    memo-desktop:schedule-runs:<device>:<name>   list  its runs as JSON, newest first (the last RUNS_KEPT)
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import redis

from memo_desktop.core.config import SAFE_NAME
from memo_desktop.core.errors import PayloadError, ScheduleNotFound
from memo_desktop.core.queueing.cron import CronSchedule

log = logging.getLogger(__name__)

RUNS_KEPT = 50


@dataclass(frozen=True)
class ActionKind:
    name: str
    takes_days: bool
    description: str


ACTION_KINDS = (
    ActionKind("analyze-unanalyzed", False, "queue the analysis of every uploaded memo that has none"),
    ActionKind("transcribe-untranscribed", False, "queue the transcription of every uploaded memo that has none"),
    ActionKind("compress-older-than", True, "queue a compressed copy of uploaded memos older than DAYS"),
    ActionKind("requeue-local", False, "queue the upload of every memo still waiting for one"),
    ActionKind("purge-local-audio-older-than", True,
               "delete the local audio of memos older than DAYS whose upload is verified (they play from the store)"),
)
_KINDS = {kind.name: kind for kind in ACTION_KINDS}


@dataclass(frozen=True)
class ScheduleAction:
    kind: str
    days: float | None = None

    @classmethod
    def parse(cls, text: str) -> ScheduleAction:
        """`analyze-unanalyzed`, `compress-older-than:30`, ...; PayloadError naming anything else."""
        raw = str(text).strip()
        name, sep, argument = raw.partition(":")
        kind = _KINDS.get(name)
        if kind is None:
            known = ", ".join(k.name + (":DAYS" if k.takes_days else "") for k in ACTION_KINDS)
            raise PayloadError(f"unknown action '{text}' (known: {known})")
        if not kind.takes_days:
            if sep:
                raise PayloadError(f"action '{text}': {name} takes no argument")
            return cls(name)
        try:
            days = float(argument)
        except ValueError:
            raise PayloadError(f"action '{text}': {name} needs a number of days, e.g. {name}:30") from None
        if not days >= 0 or days != days or days == float("inf"):
            raise PayloadError(f"action '{text}': the number of days must be 0 or more")
        return cls(name, days)

    def __str__(self) -> str:
        if self.days is None:
            return self.kind
        return f"{self.kind}:{int(self.days) if self.days == int(self.days) else self.days}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise PayloadError(f"invalid schedule name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: CronSchedule
    action: ScheduleAction
    device: str
    created_at: float

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "cron": self.cron.expression, "action": str(self.action),
                           "device": self.device, "createdAt": self.created_at}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Schedule:
        d = json.loads(raw)
        return cls(d["name"], CronSchedule(d["cron"]), ScheduleAction.parse(d["action"]), d["device"],
                   float(d["createdAt"]))


@dataclass(frozen=True)
class ScheduleRun:
    """One run of a schedule: when, why (its tick, a catch-up, or by hand), what it queued and what went wrong."""

    schedule: str
    action: str
    trigger: str  # "schedule", "catch-up" or "manual"
    tick: float | None  # the cron time it ran for (None: run by hand)
    started_at: float
    finished_at: float
    runner: str  # host:pid of the process that ran it
    enqueued: tuple[str, ...] = ()  # job ids queued (the first MAX_IDS)
    enqueued_count: int = 0
    purged_count: int = 0
    skipped: int = 0
    errors: tuple[str, ...] = ()

    MAX_IDS = 100

    def summary(self) -> str:
        """What it did, in a few words: `queued 3, skipped 1, 2 problem(s)`."""
        parts = [f"queued {self.enqueued_count}"]
        if self.purged_count:
            parts.append(f"purged {self.purged_count}")
        if self.skipped:
            parts.append(f"skipped {self.skipped}")
        if self.errors:
            parts.append(f"{len(self.errors)} problem(s)")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "action": self.action, "trigger": self.trigger, "tick": self.tick,
                "startedAt": self.started_at, "finishedAt": self.finished_at, "runner": self.runner,
                "enqueued": list(self.enqueued), "enqueuedCount": self.enqueued_count,
                "purgedCount": self.purged_count, "skipped": self.skipped, "errors": list(self.errors)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScheduleRun:
        return cls(d["schedule"], d["action"], d["trigger"], d.get("tick"), d["startedAt"], d["finishedAt"],
                   d.get("runner", ""), tuple(d.get("enqueued", ())), int(d.get("enqueuedCount", 0)),
                   int(d.get("purgedCount", 0)), int(d.get("skipped", 0)), tuple(d.get("errors", ())))


@dataclass(frozen=True)
class ScheduleStatus:
    schedule: Schedule
    next_run: float
    last_tick: float | None
    last_run: ScheduleRun | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        s = self.schedule
        return {"name": s.name, "cron": s.cron.expression, "action": str(s.action), "device": s.device,
                "createdAt": s.created_at, "nextRun": self.next_run, "nextRunLocal": local_time(self.next_run),
                "lastRun": self.last_run.as_dict() if self.last_run else None}


def local_time(moment: float | None) -> str | None:
    """ISO 8601 in local time with its UTC offset (what `schedule list` and the dialog show)."""
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(moment))


# KEYS: the schedules hash, the ticks hash. ARGV: name, tick. 1 when this caller claimed the tick (the schedule
# exists and no later or equal tick was claimed), else 0.
_CLAIM = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if last >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


class ScheduleStore:
    """One device's schedules in Redis (see the module docstring)."""

    def __init__(self, connection: redis.Redis, device: str) -> None:
        self._connection = connection
        self.device = device
        self.key = f"memo-desktop:schedules:{device}"
        self.ticks_key = f"memo-desktop:schedule-ticks:{device}"

    def runs_key(self, name: str) -> str:
        return f"memo-desktop:schedule-runs:{self.device}:{name}"

    def add(self, name: str, cron: str, action: str, created_at: float | None = None) -> Schedule:
        """Validate everything first (nothing is stored for bad input), then add; refused if the name is taken."""
        schedule = Schedule(check_name(name), CronSchedule.parse(cron), ScheduleAction.parse(action), self.device,
                            time.time() if created_at is None else float(created_at))
        if not self._connection.hsetnx(self.key, name, schedule.to_json()):
            raise PayloadError(f"a schedule named '{name}' exists already (remove it first)")
        return schedule

    def remove(self, name: str) -> None:
        with self._connection.pipeline() as pipe:
            pipe.hdel(self.key, name)
            pipe.hdel(self.ticks_key, name)
            pipe.delete(self.runs_key(name))
            removed, _, _ = pipe.execute()
        if not removed:
            raise ScheduleNotFound(f"no schedule named '{name}' on device {self.device}")

    def get(self, name: str) -> Schedule:
        raw = self._connection.hget(self.key, name)
        if raw is None:
            raise ScheduleNotFound(f"no schedule named '{name}' on device {self.device}")
        return Schedule.from_json(raw)

    def schedules(self) -> tuple[list[Schedule], dict[str, float]]:
        """Every schedule, by name, and the last tick claimed of each (one round trip)."""
        with self._connection.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.key)
            pipe.hgetall(self.ticks_key)
            raw, ticks = pipe.execute()
        found = []
        for name, value in raw.items():
            try:
                found.append(Schedule.from_json(value))
            except (ValueError, KeyError, TypeError, PayloadError) as exc:  # written by another version, or by hand
                log.warning("schedule %r on device %s is unreadable and is skipped: %s", name.decode(), self.device,
                            exc)
        return sorted(found, key=lambda s: s.name), {k.decode(): float(v) for k, v in ticks.items()}

    def claim(self, name: str, tick: float) -> bool:
        """Claim `tick` of a schedule: True for exactly one caller, however many ask."""
        return bool(self._connection.eval(_CLAIM, 2, self.key, self.ticks_key, name, repr(tick)))

    def record(self, run: ScheduleRun) -> None:
        key = self.runs_key(run.schedule)
        with self._connection.pipeline() as pipe:
            pipe.lpush(key, json.dumps(run.as_dict(), separators=(",", ":")))
            pipe.ltrim(key, 0, RUNS_KEPT - 1)
            pipe.execute()

    def runs(self, name: str, limit: int = RUNS_KEPT) -> list[ScheduleRun]:
        """Runs newest first."""
        return [ScheduleRun.from_dict(json.loads(raw)) for raw in self._connection.lrange(self.runs_key(name), 0,
                                                                                          limit - 1)]

    def status(self, name: str) -> ScheduleStatus:
        """One schedule's status (ScheduleNotFound if there is none by that name)."""
        found = next((s for s in self.statuses() if s.schedule.name == name), None)
        if found is None:
            raise ScheduleNotFound(f"no schedule named '{name}' on device {self.device}")
        return found

    def statuses(self, now: float | None = None) -> list[ScheduleStatus]:
        """Every schedule with its next run and its last run (what `schedule list` and the dialog show)."""
        now = time.time() if now is None else now
        schedules, ticks = self.schedules()
        with self._connection.pipeline(transaction=False) as pipe:
            for schedule in schedules:
                pipe.lindex(self.runs_key(schedule.name), 0)
            lasts: Sequence[bytes | None] = pipe.execute() if schedules else []
        return [ScheduleStatus(s, s.cron.next_after(now), ticks.get(s.name),
                               ScheduleRun.from_dict(json.loads(last)) if last else None)
                for s, last in zip(schedules, lasts)]
