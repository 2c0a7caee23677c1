"""The transcription engine interface, and its faster-whisper implementation.

faster-whisper is imported only when a transcription actually runs, so the app and workers start (and everything
but transcription works) without the optional extra. A loaded model is kept per process and shared by every
worker thread: loading costs ~0.3 s and ~100 MiB, and CTranslate2 serialises concurrent calls on one model safely.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from memo_desktop.core.audio.chunks import mono_pieces
from memo_desktop.core.config import Settings
from memo_desktop.core.errors import BadProcessOptions, CorruptAudio, TranscriptionUnavailable
from memo_desktop.core.transcribe.setup import INSTALL_HINT, resolve_model_path
from memo_desktop.core.transcribe.transcript import Segment, Transcript

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

FractionProgress = Callable[[float], None]  # 0.0 .. 1.0 of the audio transcribed
WHISPER_RATE = 16000  # what Whisper models take
CUT_SEARCH_SECONDS = 20.0  # a piece ends at the quietest moment of its last 20 s
PROMPT_CHARS = 200  # how much of the previous piece's text primes the next one


class TranscriptionEngine(Protocol):
    def transcribe(self, path: Path, progress: FractionProgress | None = None) -> Transcript:
        """Transcribe an audio file; `progress` follows the position in the audio."""
        ...


@dataclass(frozen=True)
class WhisperOptions:
    model_path: Path
    language: str | None  # None: let the model detect it (English-only models always say "en")
    beam_size: int
    threads: int  # 0: CTranslate2's default
    vad: bool = False  # skip long silences with the silero VAD that ships inside faster-whisper
    compute_type: str = "int8"  # fastest on CPUs, with no measurable WER cost on tiny.en (FIELD-NOTES)
    piece_seconds: float = 600.0  # longest piece handed to the model: 10 min is ~38 MB of 16 kHz samples

    @classmethod
    def from_settings(cls, settings: Settings, overrides: Mapping[str, Any] | None = None) -> WhisperOptions:
        """Settings, with a job's `options` (`language`, `beamSize`, `vad`) on top; BadProcessOptions if invalid."""
        overrides = dict(overrides or {})
        language = overrides.pop("language", settings.transcribe_language)
        beam_size = overrides.pop("beamSize", settings.transcribe_beam_size)
        vad = overrides.pop("vad", False)
        if overrides:
            raise BadProcessOptions(f"unknown transcribe option(s): {', '.join(sorted(overrides))} "
                                    "(known: language, beamSize, vad)")
        if not isinstance(language, str):
            raise BadProcessOptions(f"transcribe option 'language' must be a string, got {language!r}")
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or not 1 <= beam_size <= 20:
            raise BadProcessOptions(f"transcribe option 'beamSize' must be an integer from 1 to 20, got {beam_size!r}")
        if not isinstance(vad, bool):
            raise BadProcessOptions(f"transcribe option 'vad' must be true or false, got {vad!r}")
        return cls(model_path=resolve_model_path(settings), language=language.strip() or None, beam_size=beam_size,
                   threads=settings.transcribe_threads, vad=vad)


class FasterWhisperEngine:
    """Whisper through faster-whisper, fed by our own streaming decoder in pieces of at most `piece_seconds`, cut in
    quiet moments: memory stays bounded for a 2 h memo (faster-whisper given a path decodes all of it at once,
    ~460 MB of samples plus features), and each piece is primed with the end of the previous piece's text."""

    def __init__(self, options: WhisperOptions) -> None:
        self.options = options

    def transcribe(self, path: Path, progress: FractionProgress | None = None) -> Transcript:
        model = _load_model(self.options.model_path, self.options.threads, self.options.compute_type)
        language = self.options.language
        collected: list[Segment] = []
        prompt: str | None = None
        covered = 0.0
        for piece in mono_pieces(path, WHISPER_RATE, self.options.piece_seconds, CUT_SEARCH_SECONDS):
            length = len(piece.samples) / WHISPER_RATE
            if length == 0:
                continue
            expected = max(piece.total_seconds, piece.start + length)
            segments, info = model.transcribe(piece.samples, language=language, beam_size=self.options.beam_size,
                                              vad_filter=self.options.vad, initial_prompt=prompt)
            language = language or info.language  # detected once, on the first piece, then kept
            texts = []
            # `segments` is a generator: decoding happens while we iterate, so progress follows the audio position
            for segment in segments:
                # Whisper may place the last timestamp a little past the end of its input; players dislike that
                end = min(segment.end, length)
                collected.append(Segment(piece.start + min(segment.start, end), piece.start + end,
                                         segment.text.strip()))
                texts.append(segment.text.strip())
                if progress:
                    progress(min(1.0, (piece.start + end) / expected))
            prompt = " ".join(texts)[-PROMPT_CHARS:] or None
            covered = piece.start + length
        if covered == 0:
            raise CorruptAudio(f"{path.name}: the file holds no audio (0 frames)")
        if progress:
            progress(1.0)
        return Transcript(segments=tuple(collected), language=language or "", duration=covered,
                          model=str(self.options.model_path))


def create_engine(settings: Settings, options: Mapping[str, Any] | None = None) -> TranscriptionEngine:
    """The engine transcribe jobs use; TranscriptionUnavailable (not retried) when the extra or model is missing."""
    return FasterWhisperEngine(WhisperOptions.from_settings(settings, options))


_models: dict[tuple[Path, int, str], WhisperModel] = {}
_models_lock = threading.Lock()


def _load_model(model_path: Path, threads: int, compute_type: str) -> WhisperModel:
    key = (model_path, threads, compute_type)
    with _models_lock:  # two threads starting together load the model once
        model = _models.get(key)
        if model is None:
            try:
                import tqdm
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise TranscriptionUnavailable(f"{INSTALL_HINT} (faster-whisper cannot be imported: {exc})") from None
            # faster-whisper makes (disabled) tqdm bars, and each would start tqdm's monitor thread, which then runs
            # for the rest of the process: a thread nobody owns
            tqdm.tqdm.monitor_interval = 0
            try:
                model = WhisperModel(str(model_path), device="cpu", compute_type=compute_type, cpu_threads=threads,
                                     local_files_only=True)
            except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2 reports a bad model as RuntimeError
                raise TranscriptionUnavailable(f"the Whisper model at {model_path} cannot be loaded: {exc}") from None
            _models[key] = model
        return model


def unload_models() -> None:
    """Drop the cached models (frees their memory; the next transcription loads again)."""
    with _models_lock:
        _models.clear()
