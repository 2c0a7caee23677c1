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

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import BadProcessOptions, TranscriptionUnavailable
from memo_desktop.core.transcribe.setup import INSTALL_HINT, resolve_model_path
from memo_desktop.core.transcribe.transcript import Segment, Transcript

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

FractionProgress = Callable[[float], None]  # 0.0 .. 1.0 of the audio transcribed


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
    def __init__(self, options: WhisperOptions) -> None:
        self.options = options

    def transcribe(self, path: Path, progress: FractionProgress | None = None) -> Transcript:
        model = _load_model(self.options.model_path, self.options.threads, self.options.compute_type)
        segments, info = model.transcribe(str(path), language=self.options.language, beam_size=self.options.beam_size,
                                          vad_filter=self.options.vad)
        collected = []
        # `segments` is a generator: decoding happens while we iterate, so progress follows the audio position
        for segment in segments:
            # Whisper may place the last timestamp a little past the end of the audio; players dislike that
            end = min(segment.end, info.duration) if info.duration > 0 else segment.end
            collected.append(Segment(start=min(segment.start, end), end=end, text=segment.text.strip()))
            if progress and info.duration > 0:
                progress(min(1.0, segment.end / info.duration))
        if progress:
            progress(1.0)
        return Transcript(segments=tuple(collected), language=info.language or (self.options.language or ""),
                          duration=info.duration, model=str(self.options.model_path))


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
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise TranscriptionUnavailable(f"{INSTALL_HINT} (faster-whisper cannot be imported: {exc})") from None
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
