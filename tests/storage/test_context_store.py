"""AppContext.object_store: the embedded server (leased, released on close) or an external endpoint."""

from __future__ import annotations

import pytest

from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import ConfigError
from memo_desktop.core.library import Library
from tests.fixtures.object_store import assert_service_gone


def test_embedded_store_is_started_for_the_context_and_stopped_by_close(settings, tmp_path):
    ctx = AppContext(settings)
    try:
        store = ctx.object_store
        server = ctx.object_store_server
        pid = server.status().pid
        payload = tmp_path / "x.wav"
        payload.write_bytes(b"abc")
        store.upload(payload, store.object_key_for("m1", "cd" * 32, "wav"))

        assert store.url == server.status().address
        assert server.status().users == (str(__import__("os").getpid()),)
        assert ctx.object_store is store
    finally:
        ctx.close()
    assert_service_gone(pid, server)
    assert not server.status().running


def test_external_store_uses_settings_and_the_secret(s3_settings, object_store_server, tmp_path):
    ctx = AppContext(s3_settings)
    try:
        store = ctx.object_store
        store.ensure_bucket()

        assert store.url == object_store_server[1] and store.bucket == s3_settings.s3_bucket
        assert not ctx.object_store_server.root.exists(), "no embedded server for an external endpoint"
    finally:
        ctx.close()


def test_external_store_without_a_secret_says_where_to_put_it(s3_settings, monkeypatch):
    monkeypatch.delenv("MEMO_S3_SECRET_KEY")
    ctx = AppContext(s3_settings)

    with pytest.raises(ConfigError, match="secrets.json|keyring"):
        ctx.object_store


def test_library_comes_from_the_settings(settings):
    library = AppContext(settings).library

    assert isinstance(library, Library)
    assert (library.db_path, library.audio_dir) == (settings.library_db, settings.audio_dir)
