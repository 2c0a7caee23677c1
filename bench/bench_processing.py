"""Processing speed, each figure against a baseline measured in the same run.

1. Transcription through the queue (enqueue `transcribe`, a worker thread downloads, transcribes, uploads four
   exports and updates the library) vs faster-whisper called directly on the same file with the same model and
   options. Reports both real-time factors (seconds of work per second of audio) and their ratio (target <= 1.1).
2. Compression throughput (seconds of audio per second) for FLAC and Opus, and Opus from 44.1 kHz (resampled),
   with the cost of reading the file (a decode-only pass) as the baseline.

Real services: the embedded redis-server and weed mini in a temporary data dir. Speech comes from espeak-ng + sox.

    .venv/bin/python bench/bench_processing.py [--seconds 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import soundfile  # noqa: E402

from memo_desktop.core.audio import CompressFormat, compress_file  # noqa: E402
from memo_desktop.core.audio.reading import open_audio, read_blocks  # noqa: E402
from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.context import AppContext  # noqa: E402
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool  # noqa: E402
from memo_desktop.core.jobs.contract import QueueKind  # noqa: E402
from memo_desktop.core.jobs.states import JobState  # noqa: E402
from memo_desktop.core.library import UploadState  # noqa: E402
from memo_desktop.core.pipeline import add_memo, queue_process  # noqa: E402
from memo_desktop.core.transcribe import WhisperOptions  # noqa: E402

# Sentences tiny.en hears reliably from espeak-ng at 140 wpm. Speech it struggles with triggers Whisper's
# temperature fallback (random re-decoding), which makes the work per run vary by 2x and swamps any overhead.
PARAGRAPH = ("The meeting with the design team moved to Thursday afternoon at three in the main conference room. "
             "Please remember to call the doctor tomorrow morning about the results of the blood test. "
             "The new budget for the project was approved by the board on Monday. ")


def make_speech(path: Path, seconds: float, rate: int) -> Path:
    """espeak-ng speech of at least `seconds`, as 16-bit mono WAV at `rate`."""
    raw = path.with_suffix(".espeak.wav")
    text = PARAGRAPH
    while True:
        subprocess.run(["espeak-ng", "-s", "140", "-w", str(raw), text], check=True, capture_output=True)
        if soundfile.info(str(raw)).duration >= seconds:
            break
        text += PARAGRAPH
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


def wait_for(ctx: AppContext, job_id: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = ctx.jobs.status(job_id)
        if info.state is JobState.COMPLETED:
            return
        if info.state is JobState.FAILED:
            raise SystemExit(f"job {job_id} failed: {info.error}")
        time.sleep(0.01)
    raise SystemExit(f"job {job_id} did not finish in {timeout} s")


class WhisperClock:
    """Times what happens inside faster-whisper (the `transcribe` call and each step of its segment generator), in
    whichever thread runs it. A job's time minus its Whisper time is what the queue path adds, measured within the
    same run: Whisper's own time varies by up to 2x between identical runs (temperature fallback re-decodes at
    random), which no comparison of separate runs can see through."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def install(self) -> None:
        from faster_whisper import WhisperModel

        original = WhisperModel.transcribe
        clock = self

        def timed_transcribe(model, *args, **kwargs):
            started = time.perf_counter()
            segments, info = original(model, *args, **kwargs)  # decoding a path and features happen here
            clock.add(time.perf_counter() - started)
            return clock.timed(segments), info

        WhisperModel.transcribe = timed_transcribe

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds

    def timed(self, segments):
        iterator = iter(segments)
        while True:
            started = time.perf_counter()
            try:
                segment = next(iterator)
            except StopIteration:
                self.add(time.perf_counter() - started)
                return
            self.add(time.perf_counter() - started)
            yield segment

    def take(self) -> float:
        with self._lock:
            seconds, self.seconds = self.seconds, 0.0
        return seconds


def bench_transcription(ctx: AppContext, speech: Path, runs: int) -> None:
    from faster_whisper import WhisperModel

    duration = soundfile.info(str(speech)).duration
    memo = add_memo(ctx, speech).memo
    deadline = time.monotonic() + 60
    while ctx.library.get(memo.id).upload_state is not UploadState.UPLOADED:
        if time.monotonic() > deadline:
            raise SystemExit("the upload did not finish")
        time.sleep(0.05)

    options = WhisperOptions.from_settings(ctx.settings)
    model = WhisperModel(str(options.model_path), device="cpu", compute_type=options.compute_type,
                         cpu_threads=options.threads, local_files_only=True)
    clock = WhisperClock()
    clock.install()

    def direct() -> tuple[float, float]:
        clock.take()
        started = time.perf_counter()
        segments, _ = model.transcribe(str(speech), language=options.language, beam_size=options.beam_size,
                                       vad_filter=options.vad)
        list(segments)  # the generator does the work
        return time.perf_counter() - started, clock.take()

    def queued() -> tuple[float, float]:
        clock.take()
        started = time.perf_counter()
        wait_for(ctx, queue_process(ctx, memo.id, "transcribe"))
        return time.perf_counter() - started, clock.take()

    direct(), queued()  # warm-up: model loads, page cache, worker's first job
    direct_runs, queued_runs = [], []
    for _ in range(runs):  # interleaved, so load from other processes hits both alike
        direct_runs.append(direct())
        queued_runs.append(queued())
    print(f"transcription of {duration:.1f} s of speech (tiny.en, {options.compute_type}, beam {options.beam_size}, "
          f"threads {options.threads or 'default'}), {runs} interleaved runs each:")
    for name, measured in (("faster-whisper directly", direct_runs), ("through the queue", queued_runs)):
        walls = [wall for wall, _ in measured]
        ratios = [wall / inside for wall, inside in measured]
        print(f"  {name:24s} wall best {min(walls):6.2f} s (RTF {min(walls) / duration:.3f})  median "
              f"{statistics.median(walls):6.2f} s (RTF {statistics.median(walls) / duration:.3f});  "
              f"wall / time inside Whisper: median {statistics.median(ratios):.3f}")
    overhead = [wall - inside for wall, inside in queued_runs]
    direct_ratio = statistics.median(wall / inside for wall, inside in direct_runs)
    queued_ratio = statistics.median(wall / inside for wall, inside in queued_runs)
    print(f"  overhead ratio (queue vs direct, same Whisper work)  {queued_ratio / direct_ratio:.3f}  "
          f"(target <= 1.1); the queue path adds {statistics.median(overhead):.2f} s per job outside Whisper "
          f"(download, decode + resample, 4 uploads, library, status polling)")
    print(f"  overhead ratio of plain wall times (noisy: Whisper's own work varies)  best "
          f"{min(w for w, _ in queued_runs) / min(w for w, _ in direct_runs):.3f}  median "
          f"{statistics.median(w for w, _ in queued_runs) / statistics.median(w for w, _ in direct_runs):.3f}")


def bench_job_floor(ctx: AppContext, workdir: Path, runs: int) -> None:
    """The fixed cost of any file-process job: enqueue, pick-up, download, a trivial analysis, upload, library."""
    tone = workdir / "tone.wav"
    soundfile.write(str(tone), [0.1, -0.1] * 24000, 48000)
    memo = add_memo(ctx, tone).memo
    while ctx.library.get(memo.id).upload_state is not UploadState.UPLOADED:
        time.sleep(0.05)
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        wait_for(ctx, queue_process(ctx, memo.id, "analyze"))
        times.append(time.perf_counter() - start)
    print(f"job floor: analyze of a 1 s memo end to end, median {statistics.median(times[1:]) * 1000:.0f} ms "
          f"(best {min(times[1:]) * 1000:.0f} ms)")


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
        duration = soundfile.info(str(source)).duration
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
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of speech to transcribe (default 30)")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per case (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-processing-") as tmp:
        tmp_path = Path(tmp)
        speech_48k = make_speech(tmp_path / "speech-48k.wav", args.seconds, 48000)
        speech_44k = make_speech(tmp_path / "speech-44k.wav", args.seconds, 44100)
        bench_compression(speech_48k, speech_44k, args.runs, tmp_path)
        settings = load_settings({"data_dir": str(tmp_path / "data")}, environ={}).replace(
            auto_analyze=False, rate_limit=0)
        ctx = AppContext(settings)
        pool = start_worker_pool(ctx, WorkerPlan((QueueKind.UPLOAD, QueueKind.PROCESS), concurrency=1))
        try:
            bench_job_floor(ctx, tmp_path, args.runs)
            bench_transcription(ctx, speech_48k, args.runs)
        finally:
            pool.stop(timeout=60)
            ctx.close()


if __name__ == "__main__":
    main()
