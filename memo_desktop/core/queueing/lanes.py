"""Lanes: one RQ queue per (queue, priority, user), so that rq's own queue order gives priorities and fairness.

    file-process:high:alice        the high-priority file-process jobs of user alice
    file-upload@laptop:low:bob     the low-priority uploads of bob, which only the machine `laptop` may take

A queue of the contract (`file-process`, `file-upload@<device>`, or any other base name such as a webhook queue) is
the set of its lanes. Each lane is a complete RQ queue (its list of waiting jobs and its registries of started,
scheduled, finished and failed jobs), so `rq info` and rq-dashboard read every lane like any other queue, and a job's
`origin` is its lane: rq's own retries, requeues and deletions stay in the lane. A plain base name without a lane
(jobs queued by another tool or an older version) is served as a normal lane of no user.

A worker serves the lanes of its queues in one BLPOP: high lanes first, then normal, then low; within a priority,
the users in turn, starting after the user it served last (round-robin). What the app shows and publishes as a job's
`queue` is the base name; its priority and user come from the lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import redis
from rq import Queue

from memo_desktop.core.queueing.priorities import PRIORITY_NAMES, Priority
from memo_desktop.core.queueing.users import PRIORITY_KEY, USER_KEY, check_user

SEPARATOR = ":"
QUEUE_PREFIX = Queue.redis_queue_namespace_prefix  # rq:queue:
QUEUES_KEY = Queue.redis_queues_keys  # rq:queues, the set of every queue's key


@dataclass(frozen=True)
class Lane:
    base: str
    priority: Priority
    user: str | None  # None: a plain RQ queue named like the base (served as normal priority)

    @property
    def name(self) -> str:
        if self.user is None:
            return self.base
        return SEPARATOR.join((self.base, self.priority.value, self.user))

    @property
    def key(self) -> str:
        return QUEUE_PREFIX + self.name

    def sort_key(self) -> tuple[str, int, str]:
        return self.base, self.priority.rank, self.user or ""

    @classmethod
    def parse(cls, name: str) -> Lane:
        parts = name.split(SEPARATOR)
        if len(parts) == 3 and parts[1] in PRIORITY_NAMES and parts[0] and parts[2]:
            return cls(parts[0], Priority(parts[1]), parts[2])
        return cls(name, Priority.NORMAL, None)

    @classmethod
    def of(cls, base: str, priority: Priority | str | None, user: str) -> Lane:
        """The lane of `base` for this priority and user; bad names are refused (PayloadError naming them)."""
        return cls(Lane.parse(base).base, Priority.parse(priority), check_user(user))


def base_of(queue: str) -> str:
    """The queue a lane belongs to (a base name is its own base)."""
    return Lane.parse(queue).base


def known_queue_names(connection: redis.Redis) -> set[str]:
    """Every RQ queue on the Redis (lanes included): rq adds a queue to its set at the first enqueue."""
    return {raw.decode().removeprefix(QUEUE_PREFIX) for raw in connection.smembers(QUEUES_KEY)}


def lanes_of(names: Iterable[str], bases: Iterable[str]) -> list[Lane]:
    """The lanes among `names` that belong to `bases`; each base itself is always one (its plain queue)."""
    wanted = {base_of(b) for b in bases}
    lanes = {Lane.parse(name) for name in names} | {Lane(b, Priority.NORMAL, None) for b in wanted}
    return sorted((lane for lane in lanes if lane.base in wanted), key=Lane.sort_key)


def serving_order(lanes: Iterable[Lane], after_user: str | None = None) -> list[Lane]:
    """The order a worker looks at lanes in: by priority; within one, the plain queue first, then the users in
    turn, starting with the first user after `after_user` (the one it served last)."""
    ordered = []
    for priority in Priority:
        tier = [lane for lane in lanes if lane.priority is priority]
        plain = [lane for lane in tier if lane.user is None]
        users = sorted((lane for lane in tier if lane.user is not None), key=lambda lane: (lane.user, lane.base))
        if after_user is not None:
            turn = next((i for i, lane in enumerate(users) if lane.user > after_user), 0)  # type: ignore[operator]
            users = users[turn:] + users[:turn]
        ordered += plain + users
    return ordered


# KEYS[1] the job's hash, KEYS[2] its lane's list, KEYS[3] the new lane's list, KEYS[4] rq's set of queues.
# ARGV: job id, new lane name, priority, user. Moves a waiting job to another lane, or returns 0 if it is not
# waiting in its lane any more (a worker took it meanwhile). Its meta says the new priority too.
_MOVE = """
if redis.call('LREM', KEYS[2], 1, ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], KEYS[3])
redis.call('HSET', KEYS[1], 'origin', ARGV[2])
local raw = redis.call('HGET', KEYS[1], 'meta')
if raw then
  local ok, meta = pcall(cjson.decode, raw)
  if ok and type(meta) == 'table' then
    meta['""" + PRIORITY_KEY + """'] = ARGV[3]
    meta['""" + USER_KEY + """'] = ARGV[4]
    redis.call('HSET', KEYS[1], 'meta', cjson.encode(meta))
  end
end
return 1
"""


def move_waiting_job(connection: redis.Redis, job_key: str, job_id: str, current: Lane, target: Lane) -> bool:
    """Move a waiting job from its lane to `target` (to the end of it); False when it was not waiting there."""
    if current == target:
        return True
    moved = connection.eval(_MOVE, 4, job_key, current.key, target.key, QUEUES_KEY, job_id, target.name,
                            target.priority.value, target.user or "")
    return bool(moved)
