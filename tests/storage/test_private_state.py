"""The data dir is private: after a fresh start with the embedded services, after an import, and an older, looser
data dir is tightened at start with one log line. Run under the usual desktop umask (022), which the app must not
rely on."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from memo_desktop.core.config import load_settings, save_settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import LibraryError
from memo_desktop.core.library import Library
from memo_desktop.core.secrets import S3_SECRET_KEY, set_secret
from tests.fixtures.audio import write_tone
from tests.fixtures.private_modes import desktop_umask, mode, open_to_others  # noqa: F401 (a fixture)


# weed chmods its volume info files (JSON: format version, size offsets; no names, no data) 0644 whatever the umask;
# they are out of other users' reach in the 0700 service dir
WEED_VOLUME_INFO = "services/object-store/data/*.vif"


@pytest.fixture(autouse=True)
def _desktop_umask(desktop_umask):
    return desktop_umask


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())


def test_a_fresh_start_with_the_embedded_services_leaves_nothing_open_to_others(tmp_path, no_keyring):
    settings = load_settings({"data_dir": str(tmp_path / "new" / "data"), "s3_bucket": "memos"}, environ={})
    ctx = AppContext(settings)
    try:
        memo = ctx.library.add_file(write_tone(tmp_path / "Standup.wav"), title="standup")
        assert ctx.redis.ping()
        ctx.object_store.upload(memo.audio_path, ctx.object_store.object_key_for(memo.id, memo.sha256, "wav"))
        save_settings(settings.replace(concurrency=3))
        set_secret(settings, S3_SECRET_KEY, "a secret for another endpoint")
        data = settings.data_dir
        expected = [settings.config_file, data / "secrets.json", settings.library_db, memo.audio_path,
                    settings.services_dir / "redis" / "redis.conf",
                    settings.services_dir / "object-store" / "credentials.json",
                    settings.services_dir / "object-store" / "security.toml"]
        for path in expected:
            assert path.is_file() and mode(path) == 0o600, path
        assert mode(data) == mode(data.parent) == 0o700, "the data dir and the parent the app made for it"
        with sqlite3.connect(settings.library_db) as reader:  # the WAL files exist while a connection is open
            reader.execute("SELECT count(*) FROM memos").fetchone()
            ctx.library.rename(memo.id, "standup, renamed")
            for suffix in ("-wal", "-shm"):
                assert mode(Path(f"{settings.library_db}{suffix}")) == 0o600
        assert open_to_others(data, skip=(WEED_VOLUME_INFO,)) == [], "nothing in the data dir is open to other users"
        assert list(data.glob(WEED_VOLUME_INFO)), "the exception above is still needed"
    finally:
        ctx.close()
    assert open_to_others(data, skip=(WEED_VOLUME_INFO,)) == []


def test_an_import_is_private_and_never_replaces_audio_already_there(tmp_path):
    library = Library(tmp_path / "data" / "library.sqlite3", tmp_path / "data" / "audio")
    source = write_tone(tmp_path / "Shared.wav")
    os.chmod(source, 0o644)
    memo = library.add_file(source)
    assert mode(memo.audio_path) == 0o600 and mode(source) == 0o644, "the user's own file is left as it was"
    assert mode(library.db_path) == 0o600 and mode(library.audio_dir) == 0o700

    orphan = library.audio_dir / "m-orphan.wav"  # audio whose memo row a crash never wrote
    orphan.write_bytes(b"the only copy of something")
    with pytest.raises(LibraryError, match="already has an audio file"):
        library.add_file(source, memo_id="m-orphan")
    assert orphan.read_bytes() == b"the only copy of something"
    assert sorted(p.name for p in library.audio_dir.iterdir()) == sorted([memo.audio_path.name, orphan.name])


def test_an_older_looser_data_dir_is_tightened_at_start_with_one_log_line(tmp_path, caplog):
    data = tmp_path / "data"
    settings = load_settings({"data_dir": str(data)}, environ={})
    old = Library(settings.library_db, settings.audio_dir)  # as an older version left it, all world-readable
    memo = old.add_file(write_tone(tmp_path / "Old memo.wav"))
    (data / "config.toml").write_text("concurrency = 2\n")
    (data / "services" / "redis").mkdir(parents=True)
    (data / "services" / "redis" / "appendonly.aof").write_text("*1\r\n")
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    loose = len(open_to_others(data))
    assert loose >= 7

    with caplog.at_level(logging.INFO):
        Library.from_settings(settings).list()
        Library.from_settings(settings).list()

    assert open_to_others(data) == []
    assert mode(memo.audio_path) == 0o600 and mode(settings.library_db) == 0o600
    lines = [r.getMessage() for r in caplog.records if "private" in r.getMessage()]
    assert len(lines) == 1, lines
    assert str(data) in lines[0] and f"the folder itself and {loose - 1} entries in it" in lines[0]


def test_a_data_dir_that_cannot_be_made_is_a_clear_library_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    settings = load_settings({"data_dir": str(tmp_path / "a-file" / "data")}, environ={})
    with pytest.raises(LibraryError, match=r"the data dir .*a-file/data cannot be created or made private \(Not a"):
        Library.from_settings(settings)
