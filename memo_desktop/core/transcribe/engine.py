"""The transcription engine interface, and its faster-whisper implementation.

faster-whisper is imported only when a transcription actually runs, so the app and workers start (and everything
but transcription works) without the optional extra. A loaded model is kept per process and shared by every
worker thread (loading costs ~0.3-1 s and 100-200 MiB); transcriptions take turns on it (`resources`).

Two paths, the setting `transcribe_pipeline`:
- `batched` (the default): faster-whisper's BatchedInferencePipeline. Its VAD cuts the speech into chunks of up to
  30 s and decodes `batch_size` chunks at once; pauses cost nothing. 1.8-4.4x faster than `plain` here (README).
- `plain`: WhisperModel.transcribe, one 30 s window after the other, each conditioned on the text before it; kept
  for comparison. In pauses it falls back to re-decoding at higher temperatures, which is where its time goes.
Both are fed by our streaming decoder in pieces of at most `piece_seconds`, cut in quiet moments, so memory stays
bounded for a 2 h memo (faster-whisper given a path decodes all of it at once: ~460 MB of samples, plus features).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol

from memo_desktop.core.audio.chunks import mono_pieces
from memo_desktop.core.config import AUTO_LANGUAGE, Settings
from memo_desktop.core.errors import BadProcessOptions, CorruptAudio, TranscriptionUnavailable
from memo_desktop.core.transcribe import resources
from memo_desktop.core.transcribe.setup import INSTALL_HINT, resolve_model
from memo_desktop.core.transcribe.transcript import Segment, Transcript, Word

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
    language: str | None  # None: detected on the first piece with speech, then kept for the later pieces
    beam_size: int
    threads: int  # CPU threads of one transcription (> 0)
    vad: bool = False  # plain path: skip long silences with the silero VAD (the batched path always uses it)
    compute_type: str = "int8"  # fastest on CPUs, with no measurable WER cost on tiny.en (measured here)
    piece_seconds: float = 600.0  # longest piece handed to the model: 10 min is ~38 MB of 16 kHz samples
    pipeline: str = "batched"
    batch_size: int = 2
    model_name: str = ""  # tiny.en, base, or the directory as configured (recorded in the transcript)
    multilingual: bool | None = None  # None: not known before the model is loaded (a configured directory)
    word_timestamps: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, overrides: Mapping[str, Any] | None = None) -> WhisperOptions:
        """Settings, with a job's `options` (`language`, `beamSize`, `vad`) on top; BadProcessOptions if invalid,
        TranscriptionUnavailable if the model is missing (a model that comes in parts is assembled here, once)."""
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
        model = resolve_model(settings)
        code = language.strip().lower()
        code = None if code in ("", AUTO_LANGUAGE) else code
        if model.multilingual is False:
            if code not in (None, "en"):
                raise BadProcessOptions(f"transcribe language {code!r}: the model {model.name} understands only "
                                        "English (use the multilingual base: transcribe_model = base)")
            code = "en"
        batch_size = settings.transcribe_batch_size or resources.auto_batch_size(model.batch_item_mib, beam_size)
        return cls(model_path=model.path, language=code, beam_size=beam_size,
                   threads=resources.cpu_threads(settings.transcribe_threads), vad=vad,
                   pipeline=settings.transcribe_pipeline, batch_size=batch_size, model_name=model.name,
                   multilingual=model.multilingual)


class FasterWhisperEngine:
    """Whisper through faster-whisper, one piece of the memo at a time (see the module doc)."""

    def __init__(self, options: WhisperOptions) -> None:
        self.options = options

    def model(self) -> WhisperModel:
        """The shared model, loaded on first use; TranscriptionUnavailable when it cannot be, or when it cannot
        transcribe the configured language (an English-only model directory and a non-English language)."""
        model = _load_model(self.options.model_path, self.options.threads, self.options.compute_type)
        language = self.options.language
        if language is not None and language not in model.supported_languages:
            if not model.model.is_multilingual:
                raise TranscriptionUnavailable(
                    f"setting 'transcribe_language' is {language!r}, but the model {self.options.model_name} "
                    "understands only English; set 'transcribe_language' to auto or en, or use a multilingual "
                    "model (transcribe_model = base)")
            raise TranscriptionUnavailable(f"setting 'transcribe_language': {language!r} is not a language "
                                           f"Whisper knows (known: {', '.join(model.supported_languages)})")
        return model

    def transcribe(self, path: Path, progress: FractionProgress | None = None) -> Transcript:
        model = self.model()
        with _slots.hold(resources.concurrent_transcriptions(self.options.threads)):
            return self._transcribe(model, path, progress)

    def _transcribe(self, model: WhisperModel, path: Path, progress: FractionProgress | None) -> Transcript:
        options = self.options
        language, probability = options.language, None
        collected: list[Segment] = []
        prompt: str | None = None
        covered = 0.0
        last_word_end = 0.0
        for piece in mono_pieces(path, WHISPER_RATE, options.piece_seconds, CUT_SEARCH_SECONDS):
            length = len(piece.samples) / WHISPER_RATE
            if length == 0:
                continue
            expected = max(piece.total_seconds, piece.start + length)
            segments, info = self._decode(model, piece.samples, language, prompt)
            texts = []
            # `segments` is a generator: decoding happens while we iterate, so progress follows the audio position
            for raw in segments:
                for segment in _placed(raw, piece.start, length, last_word_end):
                    if segment.words:
                        last_word_end = segment.words[-1].end
                    collected.append(segment)
                    texts.append(segment.text)
                if progress:
                    progress(min(1.0, collected[-1].end / expected))
            text = " ".join(t for t in texts if t)
            if language is None and text:  # detected on the first piece with speech, then kept
                language, probability = info.language, float(info.language_probability)
            prompt = text[-PROMPT_CHARS:] or None
            covered = piece.start + length
            if progress:
                progress(min(1.0, covered / expected))
        if covered == 0:
            raise CorruptAudio(f"{path.name}: the file holds no audio (0 frames)")
        if progress:
            progress(1.0)
        return Transcript(segments=tuple(collected), language=language or "", duration=covered,
                          model=options.model_name or str(options.model_path), language_probability=probability)

    def _decode(self, model: WhisperModel, samples: Any, language: str | None,
                prompt: str | None) -> tuple[Iterable[Any], Any]:
        options = self.options
        if options.pipeline == "plain":
            return model.transcribe(samples, language=language, beam_size=options.beam_size,
                                    vad_filter=options.vad, initial_prompt=prompt,
                                    word_timestamps=options.word_timestamps)
        from faster_whisper import BatchedInferencePipeline

        # One pipeline per piece: it keeps word-timing state across the chunks of one input; the model is shared.
        # No prompt: the batched pipeline puts the same text in front of every chunk of the piece, text spoken up to
        # 10 minutes before most of them (the plain path conditions each window on the one just before it).
        # Without timestamp tokens (the pipeline's default): see `_placed`.
        return BatchedInferencePipeline(model).transcribe(
            samples, language=language, beam_size=options.beam_size, batch_size=options.batch_size,
            word_timestamps=options.word_timestamps)


SENTENCE_ENDS = (".", "?", "!", "。", "？", "！")
PHRASE_GAP_SECONDS = 1.0  # a pause this long between two words starts a new segment
LONGEST_SEGMENT_SECONDS = 20.0  # past this, a segment ends at the next word boundary


def _placed(raw: Any, offset: float, length: float, last_word_end: float) -> list[Segment]:
    """A faster-whisper segment moved to its place in the memo, as one segment per sentence (or phrase).

    Times are clamped into the piece (Whisper may put the last timestamp a little past the end of its input;
    players dislike that) and words are kept in order, never overlapping. The batched pipeline decodes without
    timestamp tokens (with them it drops the speech after a chunk's last timestamp pair: a whole sentence in our
    measurements), so its segments are whole VAD chunks of up to 30 s; the word timings cut them into sentences
    here, which is what a transcript a person clicks through needs."""
    end = min(float(raw.end), length)
    start = min(float(raw.start), end)
    timed: list[tuple[str, Word]] = []  # (the word as Whisper spelled it, with its leading space; the word)
    previous_end = max(last_word_end, offset)
    for word in raw.words or ():
        text = word.word.strip()
        if not text:
            continue
        word_start = max(offset + min(max(float(word.start), 0.0), length), previous_end)
        word_end = max(offset + min(float(word.end), length), word_start)
        timed.append((word.word, Word(text, word_start, word_end)))
        previous_end = word_end
    if not timed:
        return [Segment(offset + start, offset + end, raw.text.strip())]
    segments, current = [], []
    for spelled, word in timed:
        if current and _starts_segment(current, word):
            segments.append(_segment_of(current))
            current = []
        current.append((spelled, word))
    segments.append(_segment_of(current))
    return segments


def _starts_segment(current: list[tuple[str, Word]], word: Word) -> bool:
    last = current[-1][1]
    return (last.word.endswith(SENTENCE_ENDS) or word.start - last.end >= PHRASE_GAP_SECONDS
            or last.end - current[0][1].start >= LONGEST_SEGMENT_SECONDS)


def _segment_of(timed: list[tuple[str, Word]]) -> Segment:
    words = tuple(word for _, word in timed)
    return Segment(words[0].start, words[-1].end, "".join(spelled for spelled, _ in timed).strip(), words)


def create_engine(settings: Settings, options: Mapping[str, Any] | None = None) -> FasterWhisperEngine:
    """The engine transcribe jobs use; TranscriptionUnavailable (not retried) when the extra or model is missing."""
    return FasterWhisperEngine(WhisperOptions.from_settings(settings, options))


_models: dict[tuple[Path, int, str], WhisperModel] = {}
_models_lock = threading.Lock()
_slots = resources.TranscriptionSlots()


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


def transcription_slots() -> resources.TranscriptionSlots:
    """The process's turns on the shared models (for monitoring and tests)."""
    return _slots


def unload_models() -> None:
    """Drop the cached models (frees their memory; the next transcription loads again)."""
    with _models_lock:
        _models.clear()
