"""The failure-rate alert (DESIGN): fired once when it starts and once when it resolves, for the whole cluster.

Every process that runs an `AlertEvaluator` (the GUI, `worker`, `serve`) evaluates the same Redis state: the final
outcomes every worker records (`core.outcomes`, 10 s slots on the Redis clock) over the last `alert_window` s. The
alert is active while at least `alert_min_failures` jobs failed and failed / (failed + completed) is at least
`alert_failure_rate`.

Transitions are one Lua script: it sums the slots, compares with the stored state and changes it, atomically, and
tells only the caller that made the change. So two processes never both fire: that one caller enqueues the webhook
events (`alert.failure_rate`, `alert.resolved`). Every process also notices the state it reads change and tells its
own listener once (the GUI's desktop notification), whoever made the change.

State: `memo-desktop:alerts:failure_rate` (JSON while active; the `/metrics` gauge and `health --json` `alerts` read
it).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

import redis

from memo_desktop.core.config import Settings
from memo_desktop.core.jobs.events import EventHub, JobEvent
from memo_desktop.core.outcomes import OUTCOME_PREFIX, SLOT_SECONDS
from memo_desktop.core.errors import MemoError
from memo_desktop.core.redis_errors import redis_errors
from memo_desktop.core.threads import join_thread, start_thread

log = logging.getLogger(__name__)

FAILURE_RATE = "failure_rate"
ALERT_KEYS = {FAILURE_RATE: "memo-desktop:alerts:failure_rate"}
EVALUATE_SECONDS = 2.0  # between evaluations when no job ends (an ended job wakes the evaluator at once)

# KEYS[1]: the alert's state. ARGV: slot prefix, slot seconds, window, min failures, rate.
# Returns {transition ('fired', 'resolved' or ''), the active state's JSON or '' (for 'resolved': the old one),
# completed, failed}.
_EVALUATE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local size = tonumber(ARGV[2])
local last = math.floor(t / size)
local first = math.floor((t - tonumber(ARGV[3])) / size) + 1
local completed, failed = 0, 0
for slot = first, last do
  local row = redis.call('HMGET', ARGV[1] .. slot, 'completed', 'failed')
  completed = completed + (tonumber(row[1]) or 0)
  failed = failed + (tonumber(row[2]) or 0)
end
local total = completed + failed
local firing = failed >= tonumber(ARGV[4]) and total > 0 and failed / total >= tonumber(ARGV[5])
local active = redis.call('GET', KEYS[1])
if firing and not active then
  local state = cjson.encode({since = t, failures = failed, completed = completed,
                              failureRate = failed / total, window = tonumber(ARGV[3])})
  redis.call('SET', KEYS[1], state)
  return {'fired', state, completed, failed}
end
if active and not firing then
  redis.call('DEL', KEYS[1])
  return {'resolved', active, completed, failed}
end
return {'', active or '', completed, failed}
"""


@dataclass(frozen=True)
class Alert:
    name: str
    since: float  # Redis time (epoch s) when it fired
    failure_rate: float
    failures: int
    completed: int
    window: float

    def as_dict(self) -> dict[str, Any]:
        return {"alert": self.name, "since": self.since, "failureRate": round(self.failure_rate, 4),
                "failures": self.failures, "completed": self.completed, "window": self.window}

    def describe(self) -> str:
        return (f"{self.failure_rate:.0%} of the jobs ending in the last {self.window:.0f} s failed "
                f"({self.failures} failed, {self.completed} completed)")

    @classmethod
    def from_json(cls, name: str, raw: bytes | str) -> Alert:
        data = json.loads(raw)
        return cls(name, float(data["since"]), float(data["failureRate"]), int(data["failures"]),
                   int(data["completed"]), float(data["window"]))


@dataclass(frozen=True)
class Evaluation:
    transition: str  # 'fired', 'resolved' or '' (nothing changed, or another process changed it)
    alert: Alert | None  # active after this evaluation ('resolved': the alert that ended)
    completed: int
    failed: int


def evaluate(connection: redis.Redis, settings: Settings) -> Evaluation:
    """One atomic evaluation of the failure-rate alert (raises the app's Redis errors)."""
    with redis_errors(connection):
        transition, raw, completed, failed = connection.eval(
            _EVALUATE, 1, ALERT_KEYS[FAILURE_RATE], OUTCOME_PREFIX, SLOT_SECONDS, settings.alert_window,
            settings.alert_min_failures, settings.alert_failure_rate)
    transition = transition.decode() if isinstance(transition, bytes) else str(transition)
    alert = Alert.from_json(FAILURE_RATE, raw) if raw else None
    return Evaluation(transition, alert, int(completed), int(failed))


def active_alert_commands(pipeline: Any) -> None:
    """Queue the reads of every alert's state on a pipeline (`read_health` takes them in its round trip)."""
    for key in ALERT_KEYS.values():
        pipeline.get(key)


def alerts_from(raw_values: list[Any]) -> tuple[Alert, ...]:
    return tuple(Alert.from_json(name, raw) for name, raw in zip(ALERT_KEYS, raw_values) if raw)


AlertListener = Callable[[str, Alert], None]  # ('fired' or 'resolved', the alert)


class AlertEvaluator:
    """A runtime part: evaluates every EVALUATE_SECONDS and whenever a job ends (a hint from the event hub).

    `on_transition(kind, alert)` runs in the one process that made a transition (it enqueues the webhook events);
    `on_change(kind, alert)` runs in every process that sees the state change (the GUI's notification). Both run
    on the evaluator's thread."""

    name = "alert evaluator"

    def __init__(self, connection: redis.Redis, settings: Settings, hub: EventHub | None,
                 on_transition: AlertListener | None = None, on_change: AlertListener | None = None) -> None:
        self._connection = connection
        self._settings = settings
        self._hub = hub
        self._on_transition = on_transition or (lambda kind, alert: None)
        self._on_change = on_change or (lambda kind, alert: None)
        self._seen: Alert | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> AlertEvaluator:
        if self._hub is not None:
            self._unsubscribe = self._hub.subscribe(self._on_event)
        self._thread = start_thread(self._run, "alert-evaluator")
        return self

    def stop(self, timeout: float) -> bool:
        self._stop.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        return join_thread(self._thread, timeout)

    def _on_event(self, event: JobEvent) -> None:
        if event.state in ("completed", "failed"):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except MemoError as exc:  # Redis away: the supervisor says so; evaluation resumes when it is back
                log.debug("alert evaluation failed: %s", exc)
            except Exception:  # noqa: BLE001 - a listener's bug is logged; evaluating goes on
                log.exception("alert evaluation failed")
            self._wake.wait(EVALUATE_SECONDS)
            self._wake.clear()

    def run_once(self) -> Evaluation:
        result = evaluate(self._connection, self._settings)
        if result.transition and result.alert is not None:
            log.warning("alert %s %s: %s", result.alert.name, result.transition, result.alert.describe())
            self._on_transition(result.transition, result.alert)
        current = None if result.transition == "resolved" else result.alert
        previous, self._seen = self._seen, current
        if current is not None and (previous is None or previous.since != current.since):
            self._on_change("fired", current)
        elif current is None and previous is not None:
            self._on_change("resolved", result.alert if result.alert is not None else previous)
        return result
