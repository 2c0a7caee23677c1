"""Does recording stay glitch-free while the app uploads? Recording under load against an idle baseline measured in
the same run.

    .venv/bin/python bench/bench_recording.py [--seconds 60] [--baseline-seconds 10] [--uploads 5] [--megabytes 200]
                                              [--load upload|cpu-io] [--real-device]

Phase 1 records `--baseline-seconds` with nothing else running; phase 2 records `--seconds` while `--uploads`
threads in this same process each upload a `--megabytes` file to the object store over and over (the embedded
`weed mini`, through memo_desktop.core.storage). `--load cpu-io` swaps the uploads for a local stress of the same
shape (each thread hashes a file while copying it to disk), e.g. where the object store is unavailable; the
report says which load ran.

Without `--real-device` the microphone is the test suite's virtual one (a private PulseAudio with a null sink, see
tests/fixtures/virtual_mic.py) with white noise playing into it, since these machines have no sound card.

Reported per phase:
- dropped blocks and input overflows (target: 0);
- audio callback duration p50/p99/max, measured inside the callback with perf_counter_ns into a preallocated
  array (target p99 < 1 ms). This excludes the time the callback waits for the GIL before it starts, which the
  callback start-interval spread shows instead (ideal: every 20 ms);
- recorder CPU share: writer-thread CPU time (time.thread_time) plus the summed callback durations, over wall time.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memo_desktop.core.config import Settings  # noqa: E402
from memo_desktop.core.recorder import Recorder  # noqa: E402

CHUNK = 8 << 20


@dataclass
class PhaseReport:
    name: str
    wall: float
    recorded: float
    callbacks: int
    dropped_blocks: int
    overflows: int
    p50_us: float
    p99_us: float
    max_us: float
    interval_p99_ms: float
    interval_max_ms: float
    writer_cpu: float
    callback_cpu: float
    load_note: str = ""

    @property
    def cpu_share(self) -> float:
        return (self.writer_cpu + self.callback_cpu) / self.wall

    def print(self) -> None:
        print(f"\n[{self.name}] {self.wall:.1f} s wall, {self.recorded:.1f} s recorded, {self.callbacks} callbacks"
              + (f"; load: {self.load_note}" if self.load_note else ""))
        print(f"  dropped blocks            {self.dropped_blocks}   (target 0)")
        print(f"  input overflows           {self.overflows}   (target 0)")
        print(f"  callback duration         p50 {self.p50_us:.1f} us, p99 {self.p99_us:.1f} us, "
              f"max {self.max_us:.1f} us"
              f"   (target p99 < 1000 us)")
        print(f"  callback start interval   p99 {self.interval_p99_ms:.1f} ms, max {self.interval_max_ms:.1f} ms"
              f"   (nominal 20 ms)")
        print(f"  recorder CPU share        {100 * self.cpu_share:.2f} %  (writer {self.writer_cpu:.3f} s + callbacks "
              f"{self.callback_cpu:.3f} s over {self.wall:.1f} s)")


def record_phase(name: str, settings: Settings, seconds: float, load: Callable[[threading.Event], str] | None,
                 device: str | None) -> PhaseReport:
    stop_load = threading.Event()
    load_note: list[str] = []
    loader = None
    recorder = Recorder(settings, device=device, max_seconds=seconds)
    recorder.start(title=name)
    started = time.perf_counter()
    if load is not None:
        loader = threading.Thread(target=lambda: load_note.append(load(stop_load)), name="bench-load")
        loader.start()
    result = recorder.wait(timeout=seconds + 30)
    wall = time.perf_counter() - started
    stop_load.set()
    if loader is not None:
        loader.join()
    if result is None:
        raise SystemExit(f"{name}: the recording did not end after {seconds} s")
    recorder.stop()
    if result.error is not None:
        raise SystemExit(f"{name}: recording failed: {result.message}")
    durations = recorder.callback_timings.durations_ns() / 1e3
    intervals = recorder.callback_timings.intervals_ns() / 1e6
    return PhaseReport(
        name=name, wall=wall, recorded=result.duration, callbacks=recorder.callback_timings.count,
        dropped_blocks=result.dropped_blocks, overflows=result.overflows,
        p50_us=float(np.percentile(durations, 50)), p99_us=float(np.percentile(durations, 99)),
        max_us=float(durations.max()), interval_p99_ms=float(np.percentile(intervals, 99)),
        interval_max_ms=float(intervals.max()), writer_cpu=recorder.writer_cpu_seconds,
        callback_cpu=recorder.callback_timings.total_seconds, load_note=load_note[0] if load_note else "")


# -- loads -------------------------------------------------------------------------------------------------------------
def make_files(folder: Path, count: int, megabytes: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    block = np.random.default_rng(1).integers(0, 256, CHUNK, dtype=np.uint8).tobytes()
    size = megabytes * 1_000_000
    paths = []
    for i in range(count):
        path = folder / f"payload-{i}.bin"
        with open(path, "wb") as f:
            for start in range(0, size, CHUNK):
                f.write(block[: min(CHUNK, size - start)])
        paths.append(path)
    return paths


def run_threads(files: list[Path], work: Callable[[int, Path], None],
                stop: threading.Event) -> tuple[int, float, float]:
    """Each thread repeats `work` on its file until `stop`; returns (completed runs, bytes moved, seconds)."""
    done = [0] * len(files)
    errors: list[BaseException] = []

    def worker(i: int, path: Path) -> None:
        while not stop.is_set():
            try:
                work(i, path)
            except Exception as exc:  # surfaced below: a failing load would make the numbers meaningless
                errors.append(exc)
                return
            done[i] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i, p), name=f"bench-load-{i}") for i, p in enumerate(files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"the load failed: {errors[0]!r}")
    size = files[0].stat().st_size
    return sum(done), sum(done) * size, time.perf_counter() - start


def upload_load(store, files: list[Path]) -> Callable[[threading.Event], str]:
    def load(stop: threading.Event) -> str:
        runs, moved, seconds = run_threads(files, lambda i, p: store.upload(p, f"bench/{i}/{p.name}"), stop)
        return (f"{len(files)} concurrent uploads of {files[0].stat().st_size / 1e6:.0f} MB to the object store, "
                f"{runs} completed, {moved / seconds / 1e6:.0f} MB/s")
    return load


def cpu_io_load(files: list[Path], scratch: Path) -> Callable[[threading.Event], str]:
    """STAND-IN for uploads: read + sha256 + write a copy, the CPU and disk work an upload does, minus the network."""
    def copy_hashing(i: int, path: Path) -> None:
        digest = hashlib.sha256()
        with open(path, "rb") as src, open(scratch / f"copy-{i}.bin", "wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)

    def load(stop: threading.Event) -> str:
        runs, moved, seconds = run_threads(files, copy_hashing, stop)
        return (f"CPU+IO STAND-IN (not real uploads): {len(files)} threads hashing+copying "
                f"{files[0].stat().st_size / 1e6:.0f} MB files, {runs} completed, {moved / seconds / 1e6:.0f} MB/s")
    return load


# -- main --------------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="recording under load (default 60)")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="idle recording first (default 10)")
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--load", choices=("upload", "cpu-io"), default="upload")
    parser.add_argument("--real-device", metavar="NAME", nargs="?", const="",
                        help="record from a real input device (default: the virtual microphone)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    cleanups: list[Callable[[], None]] = [lambda: shutil.rmtree(work, ignore_errors=True)]
    try:
        settings = Settings(data_dir=work / "data")
        device = None
        if args.real_device is None:
            device = start_virtual_microphone(work, args.baseline_seconds + args.seconds + 30, cleanups)
        elif args.real_device:
            device = args.real_device
        files = make_files(work / "payload", args.uploads, args.megabytes)
        if args.load == "upload":
            load = upload_load(start_object_store(work, cleanups), files)
        else:
            load = cpu_io_load(files, work)

        idle = record_phase("idle baseline", settings, args.baseline_seconds, None, device)
        loaded = record_phase("under load", settings, args.seconds, load, device)
        idle.print()
        loaded.print()
        print("\n[ratios, under load / idle, same run]")
        print(f"  callback p99        {loaded.p99_us / idle.p99_us:.2f}x")
        print(f"  callback max        {loaded.max_us / idle.max_us:.2f}x")
        print(f"  start interval max  {loaded.interval_max_ms / idle.interval_max_ms:.2f}x")
        print(f"  recorder CPU share  {loaded.cpu_share / idle.cpu_share:.2f}x")
        ok = loaded.dropped_blocks == 0 and loaded.overflows == 0 and loaded.p99_us < 1000
        print(f"\nverdict: {'PASS' if ok else 'FAIL'} (0 dropped blocks, 0 overflows, callback p99 < 1 ms under load)")
    finally:
        for cleanup in reversed(cleanups):
            cleanup()


def start_virtual_microphone(work: Path, play_seconds: float, cleanups: list[Callable[[], None]]) -> str | None:
    from tests.fixtures.virtual_mic import activate, deactivate, start_virtual_mic, write_wav

    mic = start_virtual_mic(Path(tempfile.mkdtemp(prefix="vmic-")))
    cleanups.append(lambda: shutil.rmtree(mic.base_dir, ignore_errors=True))
    cleanups.append(mic.stop)
    saved = activate(mic)
    cleanups.append(lambda: deactivate(saved))
    rng = np.random.default_rng(3)
    noise = (0.25 * rng.standard_normal(int(play_seconds * 48000))).clip(-1, 1).astype(np.float32)
    player = mic.play(write_wav(work / "noise.wav", noise))

    def stop_player() -> None:
        player.kill()
        player.wait()

    cleanups.append(stop_player)
    return None  # the virtual microphone is the default input


def start_object_store(work: Path, cleanups: list[Callable[[], None]]):
    from memo_desktop.core.services.object_store_server import ObjectStoreServer
    from memo_desktop.core.storage import ObjectStore, StoreConfig

    server = ObjectStoreServer(work / "object-store")
    address = server.acquire()
    cleanups.append(server.stop)
    credentials = server.credentials()
    store = ObjectStore(StoreConfig(endpoint=address.removeprefix("http://"), bucket="bench",
                                    access_key=credentials.access_key, secret_key=credentials.secret_key,
                                    region=ObjectStoreServer.region))
    cleanups.append(store.close)
    store.ensure_bucket()
    return store


if __name__ == "__main__":
    main()
