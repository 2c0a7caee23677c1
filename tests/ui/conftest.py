"""UI test fixtures: the real app (real Redis, real object store, virtual microphone), offscreen.

`_no_dangling_threads` (autouse, like napari's `_dangling_qthreads`) fails a test that leaves a QThread running or
a QThreadPool task active; the root conftest fails one that leaves any Python thread (daemon or not) alive: the app
must stop everything it starts.
"""

from __future__ import annotations

import os
import time
import weakref
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import QThread, QThreadPool

from memo_desktop.core.config import Settings
from tests.fixtures.threads import THREAD_GRACE_SECONDS
from tests.fixtures.virtual_mic import VirtualMic, virtual_mic_session  # noqa: F401  (session fixture)

STARTUP_TIMEOUT_MS = 20_000
SHUTDOWN_TIMEOUT_MS = 30_000


def qt_work_left(qthreads: weakref.WeakSet, pools: weakref.WeakSet, grace: float = THREAD_GRACE_SECONDS) -> list[str]:
    """What is still running among the QThreads and Qt thread pools started during a test (Python threads are the
    root conftest's check)."""
    deadline = time.monotonic() + grace
    while True:
        leaked = [f"QThread {q.objectName() or q!r}" for q in list(qthreads) if _qthread_running(q)]
        leaked += [f"QThreadPool with {p.activeThreadCount()} active task(s)" for p in list(pools)
                   if _pool_active(p)]
        if not leaked or time.monotonic() > deadline:
            return leaked
        time.sleep(0.05)


def _qthread_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone: not running
        return False


def _pool_active(pool: QThreadPool) -> bool:
    try:
        return pool.activeThreadCount() > 0
    except RuntimeError:
        return False


@pytest.fixture(autouse=True)
def _no_dangling_threads(monkeypatch) -> Iterator[None]:
    qthreads: weakref.WeakSet = weakref.WeakSet()
    pools: weakref.WeakSet = weakref.WeakSet()
    pools.add(QThreadPool.globalInstance())
    original_thread_start = QThread.start
    original_pool_start = QThreadPool.start

    def thread_start(self, *args, **kwargs):
        qthreads.add(self)
        return original_thread_start(self, *args, **kwargs)

    def pool_start(self, *args, **kwargs):
        pools.add(self)
        return original_pool_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", thread_start)
    monkeypatch.setattr(QThreadPool, "start", pool_start)
    yield
    leaked = qt_work_left(qthreads, pools)
    assert not leaked, f"the test left these running: {leaked}"


@pytest.fixture
def mic(virtual_mic_session) -> VirtualMic:  # noqa: F811
    return virtual_mic_session


@pytest.fixture
def app_settings(s3_settings: Settings) -> Settings:
    """The session Redis and object store as configured services; test job functions; no automatic analysis."""
    return s3_settings.replace(job_modules=("tests.fixtures.jobs",), auto_analyze=False, attempts=1,
                               concurrency=5)


def open_app(qtbot, settings: Settings):
    from memo_desktop.ui.application import MemoDesktopApp

    desktop = MemoDesktopApp(settings)
    # not qtbot.addWidget: pytest-qt would close and delete the window before the fixtures' teardown runs the
    # app's own (asynchronous) shutdown; close_app() does that, and the app deletes its Qt objects itself
    with qtbot.waitSignal(desktop.host.startup_finished, timeout=STARTUP_TIMEOUT_MS):
        desktop.start()
    return desktop


def close_app(qtbot, desktop) -> None:
    if desktop.shut_down:
        return
    desktop.window.close()
    qtbot.waitUntil(lambda: desktop.shut_down, timeout=SHUTDOWN_TIMEOUT_MS)


@pytest.fixture
def desktop(qtbot, app_settings):
    app = open_app(qtbot, app_settings)
    yield app
    close_app(qtbot, app)


def write_tone_wav(path: Path, seconds: float, rate: int = 48000, freq: float = 440.0) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype("float32"), rate, subtype="PCM_16")
    return path


def child_pids() -> set[int]:
    """Processes whose parent is this test process (services the app would have started)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            found.add(int(entry.name))
    return found
