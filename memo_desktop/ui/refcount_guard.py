"""A stopgap for a reference-count bug of the Qt binding: PySide6 6.12.0 (abi3 wheel) on Python 3.11 drops one
reference to None on every call of a method that returns nothing (and to True/False on some bool returns).

Python 3.12+ made None, True and False immortal, so the bug is harmless there; on 3.11 their counts drain and the
process aborts with "none_dealloc: deallocating None" after a few minutes of recording (measured: ~5 references a
second idle, ~150 a second with the level meter running, from ~37,000). PySide6 6.11.2 does not have the bug;
pinning `PySide6-Essentials<6.12` is the real fix.

Until then, `RefcountGuard.install_if_needed()` measures whether the binding in use drops references (a runtime
probe, not a version check, so a fixed wheel switches it off) and, if so, tops the three counts back up twice a
second with Py_IncRef: no memory is held, and nothing is given back at exit (which would abort again).
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

PROBE_CALLS = 200
CHECK_INTERVAL_MS = 500
_GUARDED = (None, True, False)
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def binding_drops_references() -> bool:
    """Does a void method of the Qt binding lose a reference to None on each call? (measured, ~0.1 ms)"""
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("refcount-probe")
    lost = before - sys.getrefcount(None)
    _top_up(None, lost)  # give back what the probe itself cost
    return lost >= PROBE_CALLS // 2


def _top_up(obj: object, count: int) -> None:
    for _ in range(max(0, count)):
        _incref(obj)


class RefcountGuard(QObject):
    """Keeps the reference counts of None, True and False at or above their level when it was installed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._floors = [sys.getrefcount(obj) for obj in _GUARDED]
        self.topped_up = 0
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    @classmethod
    def install_if_needed(cls, parent: QObject | None = None) -> RefcountGuard | None:
        if sys.version_info >= (3, 12) or not binding_drops_references():
            return None
        log.warning("this PySide6 build loses references to None/True/False on Python %d.%d; compensating "
                    "(install PySide6-Essentials<6.12 to fix it for good)", *sys.version_info[:2])
        return cls(parent)

    def check(self) -> None:
        for obj, floor in zip(_GUARDED, self._floors):
            deficit = floor - sys.getrefcount(obj)
            if deficit > 0:
                _top_up(obj, deficit)
                self.topped_up += deficit

    def _on_timer_timeout(self) -> None:
        self.check()  # in-memory only: a few hundred Py_IncRef calls at most
