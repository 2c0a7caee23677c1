"""Offline transcription behind a small interface (faster-whisper with a local Whisper model; optional extra).

    if transcription_available():                       # cheap; False: hide the action, say INSTALL_HINT
        engine = create_engine(settings)                # TranscriptionUnavailable when the extra/model is missing
        transcript = engine.transcribe(path, progress)  # progress(0.0 .. 1.0) follows the audio position
        render(transcript, "srt")                       # json, txt, srt, vtt

`check_transcription_setup(settings)` belongs at worker start: a wrong `transcribe_model` path is a ConfigError
there, before any job runs.
"""

from memo_desktop.core.transcribe.engine import (FasterWhisperEngine, TranscriptionEngine, WhisperOptions,
                                                 create_engine, unload_models)
from memo_desktop.core.transcribe.formats import FORMATS, MEDIA_TYPES, parse_json, render
from memo_desktop.core.transcribe.setup import (INSTALL_HINT, TranscriptionSetup, check_transcription_setup,
                                                transcription_available)
from memo_desktop.core.transcribe.transcript import Segment, Transcript

__all__ = ["FORMATS", "INSTALL_HINT", "MEDIA_TYPES", "FasterWhisperEngine", "Segment", "Transcript",
           "TranscriptionEngine", "TranscriptionSetup", "WhisperOptions", "check_transcription_setup",
           "create_engine", "parse_json", "render", "transcription_available", "unload_models"]
