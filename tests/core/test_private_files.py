"""The private-files helpers: private folders and files, the one atomic write, tightening an older tree."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from memo_desktop.core import private_files
from memo_desktop.core.private_files import (atomic_write, atomic_write_text, create_private_file, make_private_dir,
                                             rename_without_replacing, secure_tree)
from tests.fixtures.private_modes import desktop_umask, mode  # noqa: F401 (a fixture)


def test_private_dirs_are_0700_down_from_the_first_missing_parent(tmp_path, desktop_umask):
    made = make_private_dir(tmp_path / "a" / "b" / "c")
    assert made.is_dir()
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", made)] == [0o700] * 3
    os.chmod(made, 0o755)
    make_private_dir(made)
    assert mode(made) == 0o755, "an existing folder is left alone (tightening is secure_tree's job, with a log line)"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        make_private_dir(tmp_path / "file")


def test_create_private_file_creates_0600_and_leaves_existing_files_alone(tmp_path, desktop_umask):
    fresh, existing = tmp_path / "fresh", tmp_path / "existing"
    existing.write_text("keep me")
    os.chmod(existing, 0o644)
    assert create_private_file(fresh) is True and mode(fresh) == 0o600
    assert create_private_file(existing) is False
    assert existing.read_text() == "keep me" and mode(existing) == 0o644
    assert create_private_file("/dev/null") is False and mode(Path("/dev/null")) == 0o666


def test_atomic_write_makes_a_private_file_and_leaves_no_temporary(tmp_path, desktop_umask):
    target = tmp_path / "config.toml"
    target.write_text("old")
    os.chmod(target, 0o644)
    with atomic_write(target) as pending:
        assert mode(pending.path) == 0o600, "private before the first byte"
        assert target.read_text() == "old", "readers see the old file until the block ends"
        os.write(pending.fd, b"new")
    assert target.read_text() == "new" and mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "secrets.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as pending:
            os.write(pending.fd, b"half")
            raise RuntimeError("disk went away")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.json"]


def test_a_file_moved_onto_the_temporary_still_ends_up_private(tmp_path, desktop_umask):
    """save_variant moves a finished file (any mode) onto the temporary: the final file is 0600 all the same."""
    scratch = tmp_path / "scratch.flac"
    scratch.write_bytes(b"flac")
    os.chmod(scratch, 0o664)
    target = tmp_path / "memo.compressed.flac"
    with atomic_write(target) as pending:
        shutil.move(scratch, pending.path)
    assert target.read_bytes() == b"flac" and mode(target) == 0o600


def test_overwrite_false_never_replaces_an_existing_file(tmp_path):
    target = tmp_path / "memo.wav"
    target.write_bytes(b"another memo's audio")
    with pytest.raises(FileExistsError):
        with atomic_write(target, overwrite=False) as pending:
            os.write(pending.fd, b"new")
    assert target.read_bytes() == b"another memo's audio"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memo.wav"]
    with atomic_write(tmp_path / "free.wav", overwrite=False) as pending:
        os.write(pending.fd, b"mine")
    assert (tmp_path / "free.wav").read_bytes() == b"mine"


def test_rename_without_replacing(tmp_path):
    source, taken = tmp_path / "take.wav", tmp_path / "taken.wav"
    source.write_bytes(b"1")
    taken.write_bytes(b"2")
    with pytest.raises(FileExistsError):
        rename_without_replacing(source, taken)
    assert source.read_bytes() == b"1" and taken.read_bytes() == b"2"
    rename_without_replacing(source, tmp_path / "free.wav")
    assert not source.exists() and (tmp_path / "free.wav").read_bytes() == b"1"


def test_a_kept_descriptor_carries_its_flock_to_the_final_name(tmp_path):
    """The recorder's note: locked before it is visible, and the lock moves with the inode to the final name."""
    target = tmp_path / "rec.recording.json"
    with atomic_write(target) as pending:
        fcntl.flock(pending.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(pending.fd, b"{}")
        fd = pending.keep_open()
    try:
        with open(target, "rb") as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    with open(target, "rb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the holder closed it


def test_a_kept_descriptor_is_closed_when_the_commit_fails(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(FileExistsError):
        with atomic_write(target, overwrite=False) as pending:
            pending.keep_open()
    assert len(os.listdir("/proc/self/fd")) == before, "no descriptor leaked"


def test_durable_writes_fsync_the_file_and_the_folder_and_scratch_writes_do_not(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(private_files.os, "fsync", counting_fsync)
    atomic_write_text(tmp_path / "durable", "x")
    assert synced == ["file", "dir"]
    synced.clear()
    atomic_write_text(tmp_path / "scratch", "x", durable=False)
    assert synced == []


def test_writers_in_many_threads_never_mix_their_temporaries(tmp_path):
    target = tmp_path / "state.json"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(50):
                atomic_write_text(target, str(n) * 1000, durable=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,), name=f"writer-{n}") for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    text = target.read_text()
    assert len(text) == 1000 and len(set(text)) == 1, "always one writer's whole file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_secure_tree_tightens_once_with_one_log_line(tmp_path, caplog):
    root = tmp_path / "data"
    (root / "audio").mkdir(parents=True)
    os.chmod(root, 0o755)
    os.chmod(root / "audio", 0o775)
    (root / "audio" / "memo.wav").write_bytes(b"RIFF")
    os.chmod(root / "audio" / "memo.wav", 0o644)
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    (root / "private").write_text("x")
    os.chmod(root / "private", 0o600)
    outside = tmp_path / "outside"
    outside.write_text("not ours")
    os.chmod(outside, 0o644)
    (root / "link").symlink_to(outside)

    with caplog.at_level(logging.WARNING, logger="memo_desktop.core.private_files"):
        tightened = secure_tree(root)
        assert secure_tree(root) == [], "once per process"

    assert sorted(map(str, tightened)) == [".", "audio", "audio/memo.wav", "run.sh"]
    assert mode(root) == 0o700 and mode(root / "audio") == 0o700
    assert mode(root / "audio" / "memo.wav") == 0o600
    assert mode(root / "run.sh") == 0o700, "the owner's own bits are kept"
    assert mode(outside) == 0o644, "symlinks are not followed"
    [record] = caplog.records
    assert record.getMessage() == (f"made {root} private: other users could open the folder itself and 3 entries in "
                                   "it (audio, audio/memo.wav, run.sh); now only you can")


def test_secure_tree_of_a_private_tree_says_nothing(tmp_path, caplog):
    root = make_private_dir(tmp_path / "fresh")
    atomic_write_text(root / "config.toml", "")
    with caplog.at_level(logging.WARNING, logger="memo_desktop.core.private_files"):
        assert secure_tree(root) == []
    assert caplog.records == []
