"""The one background runner: results on the GUI thread, latest-wins keys, errors never lost."""

from __future__ import annotations

import threading
import time

import pytest

from memo_desktop.core.errors import LibraryError
from memo_desktop.ui.background import BackgroundRunner


@pytest.fixture
def runner(qtbot):
    """A runner deleted on the GUI thread at the end (not by the garbage collector in some other thread)."""
    runner = BackgroundRunner()
    yield runner
    runner.close()
    assert runner.wait_for_done(5)
    runner.deleteLater()
    qtbot.wait(1)


def test_results_arrive_on_the_gui_thread(qtbot, runner):
    seen = []
    runner.submit(lambda: threading.current_thread().name, on_result=lambda v: seen.append(
        (v, threading.current_thread() is threading.main_thread())))
    qtbot.waitUntil(lambda: bool(seen))
    worker_thread, on_main = seen[0]
    assert worker_thread != threading.main_thread().name and on_main
    assert runner.wait_for_done(2)


def test_a_newer_task_with_the_same_key_wins(qtbot, runner):
    shown = []
    runner.submit(lambda: time.sleep(0.3) or "old", key="list", on_result=shown.append)
    runner.submit(lambda: "new", key="list", on_result=shown.append)
    qtbot.waitUntil(lambda: runner.active_count == 0)
    assert shown == ["new"]
    assert runner.wait_for_done(2)


def test_unhandled_errors_are_reported_not_swallowed(qtbot, runner):

    def fails():
        raise LibraryError("the memo library is busy")

    with qtbot.waitSignal(runner.task_failed) as blocker:
        runner.submit(fails)
    assert blocker.args == ["the memo library is busy"]
    handled = []
    runner.submit(fails, on_error=handled.append)
    qtbot.waitUntil(lambda: bool(handled))
    assert isinstance(handled[0], LibraryError)
    assert runner.wait_for_done(2)


def test_a_closed_runner_refuses_new_work(qtbot, runner):
    runner.close()
    assert runner.submit(lambda: 1) == 0


def test_handlers_of_a_deleted_owner_are_skipped(qtbot, runner):
    from PySide6.QtCore import QObject

    owner = QObject()
    seen = []
    runner.submit(lambda: time.sleep(0.2) or "late", on_result=seen.append, owner=owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: runner.active_count == 0)
    assert seen == []
