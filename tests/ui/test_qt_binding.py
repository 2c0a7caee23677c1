"""The Qt binding itself: PySide6-Essentials 6.12.0 drops a reference to None on every void call on Python 3.11
and aborts the process within minutes ("none_dealloc"); pyproject pins <6.12. This fails if the pin is lifted."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject


def test_the_qt_binding_keeps_references_to_none():
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        probe.setObjectName("x")
    assert sys.getrefcount(None) - before > -10
