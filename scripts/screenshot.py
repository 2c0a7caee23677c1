#!/usr/bin/env python3
"""Take docs/screenshot.png: the real main window under Xvfb, with a temp data dir, some memos and a busy queue.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png] [--no-mic]

Without a DISPLAY the script re-runs itself under `xvfb-run -a` (Debian: xvfb xauth libxcb-icccm4 libxcb-keysyms1
fonts-dejavu-core; scripts/install.sh installs them). Everything it starts (embedded Redis and object store, the
in-app workers, the optional virtual microphone) is stopped before it exits; the temp data dir is removed.
With PulseAudio installed it also records from a virtual microphone (tests/fixtures/virtual_mic.py) so the
level meter moves; --no-mic skips that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
DEBIAN_PACKAGES = ("xvfb", "xauth", "libxcb-icccm4", "libxcb-keysyms1", "fonts-dejavu-core")
SCREEN = "1600x1000x24"
MEMOS = (("Team standup", 42.0), ("Idea: offline sync", 18.5), ("Interview with Dana", 95.0),
         ("Grocery list", 7.2), ("Budget review notes", 63.0), ("Voice note from the train", 12.0))


def missing_packages() -> list[str]:
    missing = []
    for package in DEBIAN_PACKAGES:
        result = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
        if result.returncode != 0 or "Status: install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def reexec_under_xvfb() -> None:
    if shutil.which("dpkg") is not None:
        missing = missing_packages()
        if missing:
            sys.exit(f"screenshot: missing Debian packages: {' '.join(missing)} (run scripts/install.sh)")
    if shutil.which("xvfb-run") is None:
        sys.exit("screenshot: xvfb-run not found (Debian package xvfb)")
    os.execvp("xvfb-run", ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", sys.executable, *sys.argv])


def write_memo_audio(path: Path, seconds: float, seed: int) -> Path:
    """Speech-like audio: noise bursts shaped by a syllable-rate envelope (so durations and sizes look real)."""
    import numpy as np
    import soundfile

    rate = 16000
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3.1 * t) * np.sin(2 * np.pi * 0.37 * t + seed), 0, None)
    voice = np.sin(2 * np.pi * (140 + 30 * seed) * t) + 0.3 * rng.standard_normal(t.size)
    soundfile.write(str(path), (0.25 * envelope * voice).astype("float32"), rate, subtype="PCM_16")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    parser.add_argument("--no-mic", action="store_true", help="do not record from a virtual microphone")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        reexec_under_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(REPO))

    base = Path(tempfile.mkdtemp(prefix="memo-shot-"))
    mic = None
    try:
        if not args.no_mic and shutil.which("pulseaudio"):
            from tests.fixtures.virtual_mic import VirtualMic, activate

            mic = VirtualMic(base / "vmic").start()
            activate(mic)
        return take_screenshot(base, args.out.resolve(), mic)
    finally:
        if mic is not None:
            mic.stop()
        shutil.rmtree(base, ignore_errors=True)


def take_screenshot(base: Path, out: Path, mic) -> int:
    from PySide6.QtWidgets import QApplication

    from memo_desktop.core.config import load_settings
    from memo_desktop.core.jobs.states import JobState
    from memo_desktop.ui.application import MemoDesktopApp

    app = QApplication([sys.argv[0]])
    app.setApplicationDisplayName("Memo Desktop")

    def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshot: timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.02)

    def pause(seconds: float) -> None:
        end = time.monotonic() + seconds
        wait_until(lambda: time.monotonic() > end, seconds + 1, "a pause")

    data_dir = base / "data"
    # attempts=1 so the demo's failing job lands in "failed" at once; the sleep/fail jobs come from the test fixtures
    settings = load_settings({"data_dir": str(data_dir), "attempts": 1, "auto_analyze": False,
                              "job_modules": "tests.fixtures.jobs"}, environ={})
    desktop = MemoDesktopApp(settings)
    desktop.window.resize(1480, 860)
    desktop.start()
    started = []
    desktop.host.startup_finished.connect(started.append)
    wait_until(lambda: started, 60, "the services to start")

    audio_in = base / "incoming"
    audio_in.mkdir()
    files = [write_memo_audio(audio_in / f"{title}.wav", seconds, i) for i, (title, seconds) in enumerate(MEMOS)]
    desktop.library_widget.import_files(files)
    model = desktop.library_widget.model
    wait_until(lambda: model.rowCount() == len(files) and all(i.memo.upload_state.value == "uploaded"
                                                               for i in model.rows), 60, "the memos to upload")

    ctx = desktop.host.context
    # demo jobs from the test fixtures, labelled as such: two that fail on purpose, then a busy queue (5 running
    # with progress, the rest waiting)
    for i in range(2):  # failures first (the sleeping jobs would keep every worker busy)
        ctx.jobs.enqueue_function("file-process", "tests.fixtures.jobs.fail",
                                  {"message": "demo job: fails on purpose", "filename": f"demo failure {i + 1}"})
    for i in range(12):
        ctx.jobs.enqueue_function("file-process", "tests.fixtures.jobs.sleep",
                                  {"seconds": 40 + 3 * i, "steps": 200, "filename": f"demo job {i + 1}"})
    panel = desktop.queue_panel
    wait_until(lambda: (c := panel.counts_model.counts("file-process")) is not None and c.active == 5
               and c.failed == 2, 30, "the queue to get busy")
    panel.show_jobs("file-process", JobState.ACTIVE)
    wait_until(lambda: panel.jobs_model.rowCount() == 5, 10, "the job list")

    if mic is not None:
        from tests.fixtures.virtual_mic import speech_wav

        speech = speech_wav(base / "speech.wav", "This is a memo recorded through the virtual microphone. "
                                                 "The level meter follows my voice.")
        player = mic.play(speech)
        desktop.controller.start()
        wait_until(lambda: desktop.controller.elapsed() > 3.0, 20, "the recording to run")
    else:
        pause(3.0)
        player = None
    desktop.library_widget.table.select_keys([model.rows[1].memo.id])
    pause(0.5)  # let progress bars move and the meter settle
    out.parent.mkdir(parents=True, exist_ok=True)
    if not desktop.window.grab().save(str(out)):
        raise SystemExit(f"screenshot: could not write {out}")
    print(f"wrote {out}")

    if player is not None:
        player.terminate()
        player.wait(5)
    desktop.window.close()
    wait_until(lambda: desktop.shut_down, 90, "the app to shut down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
