"""The stopgap for PySide6 6.12.0 on Python 3.11 dropping references to None (see memo_desktop/ui/refcount_guard)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject

from memo_desktop.ui.refcount_guard import RefcountGuard, binding_drops_references

DROPS = sys.version_info < (3, 12) and binding_drops_references()


@pytest.mark.xfail(DROPS, strict=False,
                   reason="PySide6-Essentials 6.12.0 drops a reference to None per void call on Python 3.11; "
                          "pin PySide6-Essentials<6.12 (6.11.2 is fine). The app compensates meanwhile.")
def test_the_qt_binding_keeps_references_to_none():
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        probe.setObjectName("x")
    assert sys.getrefcount(None) - before > -10


def test_the_guard_keeps_none_alive_through_many_void_calls(qtbot):
    guard = RefcountGuard.install_if_needed()
    if not DROPS:
        assert guard is None  # a fixed binding switches the stopgap off
        return
    floor = sys.getrefcount(None)
    probe = QObject()
    for _ in range(3):  # more calls than there were references to None to begin with
        for _ in range(floor // 2):
            probe.setObjectName("x")
        guard.check()
    assert sys.getrefcount(None) >= floor - 5
    assert guard.topped_up >= floor
    guard.deleteLater()
