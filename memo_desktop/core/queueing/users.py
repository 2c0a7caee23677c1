"""Users: who a job belongs to. Every job carries its user (`userId` in its meta, and its lane's name), workers share
their time round-robin between users, and `rate_limit_per_user` caps each user's starts across every worker.

A user is the `user` setting of the process that queued the job (default: the OS login name). Its name becomes part
of RQ queue names and Redis keys, so it holds only letters, digits, '.', '_' and '-'.
"""

from __future__ import annotations

from memo_desktop.core.config import SAFE_NAME
from memo_desktop.core.errors import PayloadError

USER_KEY = "userId"  # in job.meta
PRIORITY_KEY = "priority"  # in job.meta


def check_user(name: str) -> str:
    """`name` if it may be a user name; PayloadError naming it otherwise."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise PayloadError(f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def user_rate_limit_key(user: str) -> str:
    """The Redis key of one user's sliding rate-limit window (beside the global `memo-desktop:rate-limit`)."""
    return f"memo-desktop:rate-limit:user:{user}"
