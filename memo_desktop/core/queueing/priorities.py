"""Job priorities: `high`, `normal` (the default) and `low`.

rq has no numeric priority (only queue order and `at_front`), so each priority is a lane of its own (see `lanes`):
a worker looks at the high lanes first, then the normal ones, then the low ones. A waiting high job therefore starts
before every waiting normal or low job of its queue, on every worker. Within one priority jobs run in order.
"""

from __future__ import annotations

from enum import Enum

from memo_desktop.core.errors import PayloadError


class Priority(str, Enum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high: lower ranks are served first."""
        return PRIORITIES.index(self)

    @classmethod
    def parse(cls, text: str | Priority | None) -> Priority:
        """A priority from its name; None means normal. Anything else is refused with a message naming it."""
        if text is None:
            return cls.NORMAL
        if isinstance(text, Priority):
            return text
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            raise PayloadError(f"unknown priority '{text}' (use {', '.join(p.value for p in PRIORITIES)})") from None


PRIORITIES = (Priority.HIGH, Priority.NORMAL, Priority.LOW)  # the order workers serve them in
PRIORITY_NAMES = tuple(p.value for p in PRIORITIES)
