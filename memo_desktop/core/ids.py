"""Unique ids that sort by time: ULIDs (python-ulid), written in lower case so they are safe in file names, object
keys and job ids alike. 48 bits of milliseconds, then 80 random bits: 10,000 ids made at once never collide."""

from __future__ import annotations

from ulid import ULID


def new_id(now: float | None = None) -> str:
    """26 characters of Crockford base32; ids made later sort after (python-ulid also keeps ids made within one
    millisecond in order and distinct)."""
    return str(ULID() if now is None else ULID.from_timestamp(now)).lower()


def random_suffix() -> str:
    """The 80 random bits alone (16 characters), for names that carry their own readable time stamp."""
    return new_id()[10:]
