"""`memo-desktop record` / `devices`: the memo and its upload job exist after a recording, however it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memo_desktop.cli import main
from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import UploadState
from tests.fixtures.virtual_mic import write_wav
from tests.recorder.audio_checks import noise
from tests.recorder.test_recovery import _interrupted

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]
REPO = Path(__file__).resolve().parents[2]


def _fields(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        if key in ("memo", "path", "duration"):
            out[key] = value
        elif line.startswith("upload job "):
            out["job"] = line[len("upload job "):]
        elif line.startswith("not uploaded: "):
            out["local"] = line[len("not uploaded: "):]
    return out


def start_recording(data_dir: Path, redis_url: str, title: str) -> subprocess.Popen:
    """`memo-desktop record` in a process of its own, returned once it says it records."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), "--redis-url", redis_url, "record",
         "--title", title], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [proc.stderr.readline()]
    while lines[-1] and "recording from" not in lines[-1]:  # after any log line (e.g. a data dir made private)
        lines.append(proc.stderr.readline())
    if "recording from" not in lines[-1]:
        proc.kill()
        proc.communicate()
        pytest.fail("record did not start: " + "".join(lines))
    return proc


def test_record_adds_the_memo_and_queues_its_upload(mic, settings, capsys):
    _interrupted(settings.audio_dir, "rec-20261128-100000-abcdef", noise(0.5), 0, title="from the crash")
    rc = main(["--data-dir", str(settings.data_dir), "--redis-url", settings.redis_url,
               "record", "--seconds", "0.5", "--title", "CLI memo"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "recovered memo rec-20261128-100000-abcdef" in out
    fields = _fields(out)
    ctx = AppContext(settings)
    try:
        memo = ctx.library.get(fields["memo"])
        assert memo.title == "CLI memo" and not memo.recovered
        assert memo.duration == pytest.approx(0.5, abs=0.01) and fields["duration"] == "0.5 s"
        assert str(memo.audio_path) == fields["path"] and memo.audio_path.exists()
        assert memo.upload_state is UploadState.QUEUED and memo.job_id == fields["job"]
        assert ctx.jobs.status(fields["job"]).state is JobState.WAITING
        recovered = ctx.library.get("rec-20261128-100000-abcdef")
        assert recovered.recovered and recovered.title == "from the crash" and recovered.job_id
        assert not list(settings.audio_dir.glob("*.recording.*"))
    finally:
        ctx.close()


def test_record_keeps_the_memo_local_when_redis_is_down(mic, data_dir, capsys):
    rc = main(["--data-dir", str(data_dir), "--redis-url", "redis://127.0.0.1:1/0", "record", "--seconds", "0.3"])
    out = capsys.readouterr().out
    assert rc == 0, out
    fields = _fields(out)
    assert "job" not in fields and "kept local" in fields["local"]
    assert Path(fields["path"]).exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_recording_and_keeps_the_memo(mic, settings, stop_signal):
    proc = start_recording(settings.data_dir, settings.redis_url, "stopped by a signal")
    try:
        os.kill(proc.pid, stop_signal)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    fields = _fields(out)
    ctx = AppContext(settings)
    try:
        memo = ctx.library.get(fields["memo"])
        assert memo.title == "stopped by a signal" and memo.job_id == fields["job"]
    finally:
        ctx.close()


def test_devices_lists_the_default_input_as_json(mic, capsys):
    assert main(["devices", "--json"]) == 0
    inputs = json.loads(capsys.readouterr().out)
    assert [d["is_default"] for d in inputs].count(True) == 1
    assert {"index", "name", "host_api", "max_input_channels", "default_sample_rate"} <= set(inputs[0])


def test_record_without_a_matching_device_fails_clearly(mic, data_dir, capsys):
    rc = main(["--data-dir", str(data_dir), "--redis-url", "redis://127.0.0.1:1/0", "record", "--device", "nope"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "memo-desktop: error: no input device matches 'nope'; available inputs:" in err


def test_devices_marks_the_default_input(mic, capsys):
    assert main(["devices"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("* ") for line in lines) == 1


def test_after_record_is_sigkilled_memos_lists_the_recording(mic, data_dir, tmp_path):
    """The recovery pass runs whenever the library is opened, not only when the GUI or `record` starts."""
    player = mic.play(write_wav(tmp_path / "noise.wav", noise(4.0)))
    try:
        proc = start_recording(data_dir, "redis://127.0.0.1:1/0", "killed while recording")
        time.sleep(1.5)
        proc.kill()  # SIGKILL: no handler runs
        proc.communicate(timeout=10)
    finally:
        player.kill()
        player.wait()
    listed = subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), "memos", "--json"],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0, listed.stderr
    memos = json.loads(listed.stdout)
    assert [(m["title"], m["recovered"], m["uploadState"]) for m in memos] == [("killed while recording", True,
                                                                                "local")]
    assert 0.5 <= memos[0]["duration"] <= 2.5 and Path(memos[0]["audioPath"]).is_file()
    assert not list((data_dir / "audio").glob("*.recording.*"))


def test_two_processes_opening_one_library_recover_a_recording_once(data_dir):
    for n in range(8):  # enough work that unlocked passes would overlap (measured: they then fail ~1 run in 5)
        _interrupted(data_dir / "audio", f"rec-20261201-10000{n}-abcdef", noise(0.4), 0, title=f"crash {n}")
    commands = [[sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), "memos", "--json"]] * 2
    procs = [subprocess.Popen(c, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    for out, _ in outputs:  # each sees the three memos, whichever did the recovering
        assert sorted(m["title"] for m in json.loads(out)) == [f"crash {n}" for n in range(8)]
    audio = sorted(p.name for p in (data_dir / "audio").iterdir())
    assert audio == [f"rec-20261201-10000{n}-abcdef.wav" for n in range(8)]  # no duplicate, nothing left over
