"""Processing speed and memory, each figure against a baseline measured in the same run.

1. Transcription, on the same files and model (tiny.en, int8, beam 5, word timestamps):
   a. the transcribe job through the queue (enqueue, a worker thread downloads, transcribes, uploads four exports,
      updates the library) vs faster-whisper's BatchedInferencePipeline called directly on the file (target <= 1.1x);
   b. the batched pipeline vs the plain path (WhisperModel.transcribe), both called directly: on speech with pauses
      (target >= 5x faster) and on continuous speech (target >= 1.5x).
2. Real-time factor per model (tiny.en, base) through the engine, with the word error rate.
3. Peak resident memory per model and batch size, each in a fresh process (10 min of speech, so batches fill).
4. 5 concurrent transcription jobs vs 1 (each case in a fresh process with its own services): throughput (seconds
   of audio per second) and the growth of resident memory while the jobs run; with the engine's turns on the shared
   model, and with them lifted (5 at once) for comparison.
5. Compression throughput (seconds of audio per second) for FLAC and Opus, and Opus from 44.1 kHz (resampled),
   with the cost of reading the file (a decode-only pass) as the baseline.

Real services: the embedded redis-server and weed mini in temporary data dirs. Speech comes from espeak-ng + sox.

    .venv/bin/python bench/bench_processing.py [--runs 3] [--skip-memory] [--skip-concurrency]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from memo_desktop.core.audio import CompressFormat, compress_file  # noqa: E402
from memo_desktop.core.audio.reading import open_audio, read_blocks  # noqa: E402
from memo_desktop.core.config import Settings, load_settings  # noqa: E402
from memo_desktop.core.context import AppContext  # noqa: E402
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool  # noqa: E402
from memo_desktop.core.jobs.contract import QueueKind  # noqa: E402
from memo_desktop.core.jobs.states import JobState  # noqa: E402
from memo_desktop.core.library import Memo, UploadState  # noqa: E402
from memo_desktop.core.pipeline import add_memo, queue_process  # noqa: E402
from memo_desktop.core.transcribe import create_engine, engine as engine_module  # noqa: E402
from speech_files import duration_of, make_continuous, make_with_pauses, word_error_rate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# -- queue helpers ----------------------------------------------------------------------------------------------------
def wait_for(ctx: AppContext, job_id: str, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = ctx.jobs.status(job_id)
        if info.state is JobState.COMPLETED:
            return
        if info.state is JobState.FAILED:
            raise SystemExit(f"job {job_id} failed: {info.error}")
        time.sleep(0.01)
    raise SystemExit(f"job {job_id} did not finish in {timeout} s")


def add_uploaded(ctx: AppContext, path: Path, title: str | None = None) -> Memo:
    memo = add_memo(ctx, path, title=title).memo
    deadline = time.monotonic() + 120
    while ctx.library.get(memo.id).upload_state is not UploadState.UPLOADED:
        if time.monotonic() > deadline:
            raise SystemExit("the upload did not finish")
        time.sleep(0.05)
    return memo


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- 1. job vs direct, batched vs plain -------------------------------------------------------------------------------
def bench_transcription(ctx: AppContext, files: dict[str, tuple[Path, str]], runs: int) -> None:
    from faster_whisper import BatchedInferencePipeline

    engine = create_engine(ctx.settings)
    options = engine.options
    model = engine.model()  # the very model object the jobs use (shared per process)
    print(f"transcription (tiny.en, {options.compute_type}, beam {options.beam_size}, batch {options.batch_size}, "
          f"{options.threads} threads, word timestamps), {runs} interleaved runs (median; best: the least disturbed "
          "by other work on the machine):")
    for name, (path, reference) in files.items():
        duration = duration_of(path)
        memo = add_uploaded(ctx, path)

        def job() -> None:
            wait_for(ctx, queue_process(ctx, memo.id, "transcribe"))

        def batched() -> str:
            segments, _ = BatchedInferencePipeline(model).transcribe(
                str(path), language=options.language, beam_size=options.beam_size, batch_size=options.batch_size,
                word_timestamps=True)
            return " ".join(s.text for s in segments)

        def plain() -> str:
            segments, _ = model.transcribe(str(path), language=options.language, beam_size=options.beam_size,
                                           word_timestamps=True)
            return " ".join(s.text for s in segments)

        job(), batched()  # warm-up: page cache, the worker's first job
        job_times, batched_times, plain_times, job_cpu, batched_cpu, plain_cpu = [], [], [], [], [], []
        texts = {}
        for _ in range(runs):  # interleaved, so load from other processes hits all alike
            cpu = cpu_seconds()
            job_times.append(median_time(job, 1))
            job_cpu.append(cpu_seconds() - cpu)
            started, cpu = time.perf_counter(), cpu_seconds()
            texts["batched"] = batched()
            batched_times.append(time.perf_counter() - started)
            batched_cpu.append(cpu_seconds() - cpu)
            started, cpu = time.perf_counter(), cpu_seconds()
            texts["plain"] = plain()
            plain_times.append(time.perf_counter() - started)
            plain_cpu.append(cpu_seconds() - cpu)
        j, b, p = (statistics.median(t) for t in (job_times, batched_times, plain_times))
        best_j, best_b, best_p = (min(t) for t in (job_times, batched_times, plain_times))
        job_text = ctx.library.get(memo.id).transcript
        print(f"  {name} ({duration:.0f} s): job {j:6.2f} s (RTF {j / duration:.3f}, WER "
              f"{word_error_rate(reference, job_text):.2f})  batched directly {b:6.2f} s (RTF {b / duration:.3f}, "
              f"WER {word_error_rate(reference, texts['batched']):.2f})  plain {p:6.2f} s (RTF {p / duration:.3f}, "
              f"WER {word_error_rate(reference, texts['plain']):.2f})")
        cpu_b = statistics.median(batched_cpu)
        print(f"    job / batched directly (target <= 1.1): CPU time of this process "
              f"{statistics.median(job_cpu) / cpu_b:.3f} (the same work whatever else runs on the machine), wall "
              f"median {j / b:.3f}, best {best_j / best_b:.3f}")
        print(f"    plain / batched (target >= {5 if 'pause' in name else 1.5}x): CPU time "
              f"{statistics.median(plain_cpu) / cpu_b:.2f}x, wall median {p / b:.2f}x, best {best_p / best_b:.2f}x")
        print(f"    runs: job {_fmt(job_times)}, batched {_fmt(batched_times)}, plain {_fmt(plain_times)}")


def cpu_seconds() -> float:
    """CPU time of this process, every thread (the worker's, CTranslate2's) but not other processes' (the embedded
    redis-server and weed serve the job too, but spend ~nothing on it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fmt(times: list[float]) -> str:
    return "/".join(f"{t:.2f}" for t in times)


# -- 2. RTF per model -------------------------------------------------------------------------------------------------
def bench_models(data_dir: Path, path: Path, reference: str, runs: int) -> None:
    duration = duration_of(path)
    print(f"real-time factor per model, batched pipeline through the engine ({duration:.0f} s of continuous speech, "
          f"median of {runs}):")
    for name in ("tiny.en", "base"):
        engine = create_engine(Settings(data_dir=data_dir, transcribe_model=name))
        engine.model()
        engine.transcribe(path)  # warm-up
        texts = []
        wall = median_time(lambda: texts.append(engine.transcribe(path).text), runs)
        print(f"  {name:8s} RTF {wall / duration:.3f} ({wall:.2f} s), batch {engine.options.batch_size}, WER "
              f"{word_error_rate(reference, texts[-1]):.2f}")


# -- 3. memory per model and batch size ---------------------------------------------------------------------------------
# Peak memory is VmHWM of /proc/self/status: the high-water mark of this process image. (getrusage's ru_maxrss
# is no use in a child: Linux carries the parent's high-water mark across fork and exec.)
MEMORY_CASE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/bench")
from bench_processing import status_mib
from memo_desktop.core.config import Settings
from memo_desktop.core.transcribe import create_engine
engine = create_engine(Settings(data_dir=Path(sys.argv[2]), transcribe_model=sys.argv[3],
                                transcribe_batch_size=int(sys.argv[4])))
engine.model()
loaded = status_mib("VmHWM")
started = time.perf_counter()
engine.transcribe(Path(sys.argv[5]))
print(json.dumps({"loaded": loaded, "peak": status_mib("VmHWM"), "wall": time.perf_counter() - started}))
"""


def status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: its peak), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_memory(data_dir: Path, path: Path) -> None:
    duration = duration_of(path)
    print(f"peak resident memory per model and batch size ({duration:.0f} s of speech, each in a fresh process; "
          f"MiB):")
    for name in ("tiny.en", "base"):
        for batch in (1, 2, 4, 8):
            run = subprocess.run([sys.executable, "-c", MEMORY_CASE, str(REPO), str(data_dir), name, str(batch),
                                  str(path)], capture_output=True, text=True, timeout=900)
            if run.returncode != 0:
                raise SystemExit(run.stderr)
            case = json.loads(run.stdout.splitlines()[-1])
            print(f"  {name:8s} batch {batch}: model loaded {case['loaded']:5.0f}, peak {case['peak']:5.0f} "
                  f"(+{case['peak'] - case['loaded']:4.0f} while transcribing), RTF {case['wall'] / duration:.3f}")


# -- 4. concurrent jobs -------------------------------------------------------------------------------------------------
def bench_concurrency(workdir: Path, path: Path) -> None:
    print(f"concurrent transcription jobs ({duration_of(path):.0f} s memos, tiny.en, a pool of 5 worker threads, "
          "each case in a fresh process; CPU time is this process's, robust to other work on the machine):")
    cases = [(1, "default"), (5, "default"), (5, "5 at a time")]
    results = {}
    for jobs, mode in cases:
        run = subprocess.run([sys.executable, __file__, "--concurrency-case", str(jobs), mode, str(path),
                              str(workdir / f"case-{jobs}-{mode.replace(' ', '-')}")],
                             capture_output=True, text=True, timeout=1800)
        if run.returncode != 0:
            raise SystemExit(run.stderr)
        results[(jobs, mode)] = case = json.loads(run.stdout.splitlines()[-1])
        label = "taking turns" if mode == "default" else mode
        print(f"  {jobs} job(s), {label:12s}: {case['wall']:6.2f} s ({case['audio'] / case['wall']:5.1f} s of audio "
              f"per s), CPU {case['cpu']:6.2f} s, memory +{case['rss_growth']:4.0f} MiB while running (peak "
              f"{case['peak']:.0f} MiB)")
    one, five = results[(1, "default")], results[(5, "default")]
    lifted = results[(5, "5 at a time")]
    print(f"  throughput 5 vs 1: {(five['audio'] / five['wall']) / (one['audio'] / one['wall']):.2f}x; 5 at a time "
          f"vs taking turns: {five['wall'] / lifted['wall']:.2f}x the throughput, {lifted['cpu'] / five['cpu']:.2f}x "
          f"the CPU time, {lifted['rss_growth'] - five['rss_growth']:+.0f} MiB")


def concurrency_case(jobs: int, mode: str, path: Path, data_dir: Path) -> None:
    """One case of bench_concurrency, in this (fresh) process."""
    if mode != "default":  # "N at a time": the engine's turns set to N
        at_a_time = int(mode.split()[0])
        engine_module.resources.concurrent_transcriptions = lambda threads, cores=None: at_a_time
    settings = load_settings({"data_dir": str(data_dir)}, environ={}).replace(auto_analyze=False, rate_limit=0)
    ctx = AppContext(settings)
    pool = start_worker_pool(ctx, WorkerPlan((QueueKind.UPLOAD, QueueKind.PROCESS), concurrency=5))
    try:
        memos = [add_uploaded(ctx, path, title=f"memo {i}") for i in range(jobs)]
        create_engine(settings).transcribe(path)  # the model loaded and warm, as in a running app
        sampler = RssSampler()
        started, cpu = time.perf_counter(), cpu_seconds()
        with sampler:
            for job_id in [queue_process(ctx, memo.id, "transcribe") for memo in memos]:
                wait_for(ctx, job_id)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    finally:
        pool.stop(timeout=120)
        ctx.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "audio": jobs * duration_of(path), "rss_growth": sampler.growth_mib,
                      "peak": status_mib("VmHWM")}))


class RssSampler:
    """The growth of this process's resident memory over its value at the start, sampled every 20 ms."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler")
        self.start_mib = self.max_mib = 0.0

    @staticmethod
    def rss_mib() -> float:
        return status_mib("VmRSS")

    @property
    def growth_mib(self) -> float:
        return self.max_mib - self.start_mib

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.max_mib = max(self.max_mib, self.rss_mib())

    def __enter__(self) -> RssSampler:
        self.start_mib = self.max_mib = self.rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- 5. compression -----------------------------------------------------------------------------------------------------
def bench_compression(speech_48k: Path, speech_44k: Path, runs: int, workdir: Path) -> None:
    def decode_only(path: Path) -> float:
        start = time.perf_counter()
        with open_audio(path) as sound:
            for _ in read_blocks(sound, 1 << 18):
                pass
        return time.perf_counter() - start

    cases = [("FLAC from 48 kHz", speech_48k, CompressFormat.FLAC),
             ("Opus from 48 kHz", speech_48k, CompressFormat.OPUS),
             ("Opus from 44.1 kHz (resampled)", speech_44k, CompressFormat.OPUS)]
    print("compression (seconds of audio per second of work, median of runs):")
    for name, source, fmt in cases:
        duration = duration_of(source)
        baseline = statistics.median(decode_only(source) for _ in range(runs))
        times, size = [], 0
        for i in range(runs):
            start = time.perf_counter()
            result = compress_file(source, workdir / f"bench-{i}.{fmt.extension}", fmt, opus_bitrate=32000)
            times.append(time.perf_counter() - start)
            size = result.size
        t = statistics.median(times)
        print(f"  {name:32s} {duration / t:8.1f} x real time   {size / source.stat().st_size:6.1%} of the WAV   "
              f"(decode-only baseline {duration / baseline:8.1f} x; encoding costs {t / baseline:5.1f}x reading)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per case (default 3)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory per batch size section")
    parser.add_argument("--skip-concurrency", action="store_true", help="skip the concurrent jobs section")
    parser.add_argument("--skip-compression", action="store_true", help="skip the compression section")
    parser.add_argument("--concurrency-case", nargs=4, metavar=("JOBS", "MODE", "FILE", "DATA_DIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.concurrency_case:
        jobs, mode, path, data_dir = args.concurrency_case
        concurrency_case(int(jobs), mode, Path(path), Path(data_dir))
        return
    with tempfile.TemporaryDirectory(prefix="bench-processing-") as tmp:
        tmp_path = Path(tmp)
        continuous = make_continuous(tmp_path / "continuous.wav", 60, tmp_path)
        pauses = make_with_pauses(tmp_path / "with-pauses.wav", tmp_path)
        speech_44k = make_continuous(tmp_path / "speech-44k.wav", 30, tmp_path, rate=44100)[0]
        if not args.skip_compression:
            bench_compression(continuous[0], speech_44k, args.runs, tmp_path)
        settings = load_settings({"data_dir": str(tmp_path / "data")}, environ={}).replace(
            auto_analyze=False, rate_limit=0)
        ctx = AppContext(settings)
        pool = start_worker_pool(ctx, WorkerPlan((QueueKind.UPLOAD, QueueKind.PROCESS), concurrency=1))
        try:
            bench_transcription(ctx, {"speech with pauses": pauses, "continuous speech": continuous}, args.runs)
        finally:
            pool.stop(timeout=120)
            ctx.close()
        bench_models(tmp_path / "data", *continuous, args.runs)
        if not args.skip_memory:
            long_speech = make_continuous(tmp_path / "ten-minutes.wav", 600, tmp_path, rate=16000)[0]
            bench_memory(tmp_path / "data", long_speech)
        if not args.skip_concurrency:
            bench_concurrency(tmp_path, continuous[0])


if __name__ == "__main__":
    main()
